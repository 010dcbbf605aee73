"""Pure statistics of the judge: counter arithmetic, histograms, anytime-valid intervals, checks."""

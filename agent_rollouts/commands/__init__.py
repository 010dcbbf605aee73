"""One module per area of subcommands; each imports its libraries only inside its handlers."""

// Command argo-conformance runs rendered AnalysisTemplates through Argo Rollouts' own code.
//
// It reads one rendered overlay (a multi-document YAML stream holding a Rollout and the
// AnalysisTemplates it names), builds with Argo's helpers the AnalysisRuns the Rollout would
// create (canary: background analysis and analysis steps; blue-green: pre/post-promotion),
// takes one measurement of every metric with Argo's real providers (web, prometheus) and
// prints the measurements as JSON. The providers decide phases with Argo's evaluator.
//
// What a cluster would supply is substituted, and nothing else:
//   - the stable and canary ReplicaSets (only their rollouts-pod-template-hash label is read);
//   - Secrets named by secretKeyRef args (--secret NAME/KEY=FILE; the controller's own lookup
//     needs a Kubernetes API, so the harness reads the value from FILE instead);
//   - in-cluster addresses (--arg NAME=VALUE replaces an arg's value after Argo resolved it).
//
// Providers are built with the exported constructors that metricproviders.ProviderFactory calls
// for these two types; importing the factory itself would compile every other provider (AWS,
// Datadog, New Relic, plugins...) and double the first build.
//
// initialDelay, interval and count are not waited for: each metric is measured once.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	log "github.com/sirupsen/logrus"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-rollouts/metric"
	"github.com/argoproj/argo-rollouts/metricproviders/prometheus"
	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
)

// Result is what the harness prints: one entry per distinct AnalysisRun.
type Result struct {
	Rollout string `json:"rollout"`
	Runs    []Run  `json:"runs"`
}

// Run is one AnalysisRun the Rollout would create; Sources lists the places that create it.
type Run struct {
	Sources   []string       `json:"sources"`
	Templates []string       `json:"templates"`
	Error     string         `json:"error,omitempty"`
	Metrics   []MetricResult `json:"metrics"`
}

// MetricResult is one measurement of one metric.
type MetricResult struct {
	Template string `json:"template"`
	Metric   string `json:"metric"`
	Provider string `json:"provider"`
	Phase    string `json:"phase"`
	Value    string `json:"value"`
	Message  string `json:"message"`
}

type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }

func (kv keyValues) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	kv[key] = value
	return nil
}

func main() {
	manifests := flag.String("manifests", "-", "rendered overlay YAML (file, or - for stdin)")
	canaryHash := flag.String("canary-hash", "canary0hash", "rollouts-pod-template-hash of the canary ReplicaSet")
	stableHash := flag.String("stable-hash", "stable0hash", "rollouts-pod-template-hash of the stable ReplicaSet")
	overrides := keyValues{}
	flag.Var(overrides, "arg", "NAME=VALUE: replace an arg's value after Argo resolved it (repeatable)")
	secretFiles := keyValues{}
	flag.Var(secretFiles, "secret", "SECRET/KEY=FILE: value of a secretKeyRef arg (repeatable)")
	flag.Parse()

	// Argo's providers log through logrus; keep stderr for real problems.
	log.SetLevel(log.WarnLevel)
	result, err := conform(*manifests, *canaryHash, *stableHash, overrides, secretFiles)
	if err != nil {
		fmt.Fprintln(os.Stderr, "argo-conformance:", err)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, "argo-conformance:", err)
		os.Exit(1)
	}
}

func conform(manifests, canaryHash, stableHash string, overrides, secretFiles keyValues) (*Result, error) {
	rollout, templates, err := load(manifests)
	if err != nil {
		return nil, err
	}
	secrets, err := readSecrets(secretFiles)
	if err != nil {
		return nil, err
	}
	runs, err := analysisRuns(rollout, templates, canaryHash, stableHash)
	if err != nil {
		return nil, err
	}
	if err := checkOverrides(overrides, templates); err != nil {
		return nil, err
	}
	result := &Result{Rollout: rollout.Name}
	for _, pending := range runs {
		result.Runs = append(result.Runs, measure(pending, templates, overrides, secrets))
	}
	return result, nil
}

// load strictly decodes the Rollout and AnalysisTemplates of a rendered overlay; other kinds are skipped.
func load(path string) (*v1alpha1.Rollout, map[string]*v1alpha1.AnalysisTemplate, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, err
	}
	var rollout *v1alpha1.Rollout
	templates := map[string]*v1alpha1.AnalysisTemplate{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		var meta struct {
			metav1.TypeMeta
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		if meta.APIVersion != v1alpha1.SchemeGroupVersion.String() {
			continue
		}
		where := fmt.Sprintf("%s: %s %s (document %d)", path, meta.Kind, meta.Metadata.Name, index)
		switch meta.Kind {
		case "Rollout":
			if rollout != nil {
				return nil, nil, fmt.Errorf("%s: more than one Rollout", path)
			}
			rollout = &v1alpha1.Rollout{}
			if err := yaml.UnmarshalStrict(doc, rollout); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
		case "AnalysisTemplate":
			template := &v1alpha1.AnalysisTemplate{}
			if err := yaml.UnmarshalStrict(doc, template); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			templates[template.Name] = template
		}
	}
	if rollout == nil {
		return nil, nil, fmt.Errorf("%s: no argoproj.io/v1alpha1 Rollout", path)
	}
	if rollout.Spec.Strategy.Canary == nil && rollout.Spec.Strategy.BlueGreen == nil {
		return nil, nil, fmt.Errorf("%s: Rollout %s has neither a canary nor a blueGreen strategy", path, rollout.Name)
	}
	return rollout, templates, nil
}

func readSecrets(files keyValues) (map[string]string, error) {
	secrets := map[string]string{}
	for ref, file := range files {
		if !strings.Contains(ref, "/") {
			return nil, fmt.Errorf("--secret %s: want SECRET/KEY=FILE", ref)
		}
		value, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--secret %s: %w", ref, err)
		}
		secrets[ref] = strings.TrimSpace(string(value))
	}
	return secrets, nil
}

// pendingRun is an AnalysisRun built by Argo's helpers, or the error Argo would report instead.
type pendingRun struct {
	sources   []string
	templates []string
	run       *v1alpha1.AnalysisRun
	err       error
}

// analysisRuns builds the AnalysisRuns of the Rollout's analyses (canary: background and steps;
// blue-green: pre- and post-promotion) the way the rollout controller does, with the canary
// (or preview) as the new ReplicaSet; identical runs (same spec) are measured once.
func analysisRuns(rollout *v1alpha1.Rollout, templates map[string]*v1alpha1.AnalysisTemplate, canaryHash, stableHash string) ([]*pendingRun, error) {
	canaryRS := replicaSet(canaryHash)
	stableRS := replicaSet(stableHash)
	var runs []*pendingRun
	add := func(source string, analysis *v1alpha1.RolloutAnalysis) error {
		pending := &pendingRun{sources: []string{source}}
		var found []*v1alpha1.AnalysisTemplate
		for _, ref := range analysis.Templates {
			if ref.IsClusterScope() {
				return fmt.Errorf("%s: ClusterAnalysisTemplate %s is not supported by this harness", source, ref.TemplateName)
			}
			template, ok := templates[ref.TemplateName]
			if !ok {
				return fmt.Errorf("%s: AnalysisTemplate %s is not in the manifests", source, ref.TemplateName)
			}
			pending.templates = append(pending.templates, ref.TemplateName)
			found = append(found, template)
		}
		args, err := analysisutil.BuildArgumentsForRolloutAnalysisRun(analysis.Args, stableRS, canaryRS, rollout)
		if err == nil {
			pending.run, err = analysisutil.NewAnalysisRunFromTemplates(found, nil, args, analysis.DryRun,
				analysis.MeasurementRetention, nil, nil, "", rollout.Name+"-", rollout.Namespace)
		}
		pending.err = err
		for _, seen := range runs {
			if sameRun(seen, pending) {
				seen.sources = append(seen.sources, source)
				return nil
			}
		}
		runs = append(runs, pending)
		return nil
	}
	type sourced struct {
		source   string
		analysis *v1alpha1.RolloutAnalysis
	}
	var analyses []sourced
	if canary := rollout.Spec.Strategy.Canary; canary != nil {
		if canary.Analysis != nil {
			analyses = append(analyses, sourced{"background", &canary.Analysis.RolloutAnalysis})
		}
		for index, step := range canary.Steps {
			analyses = append(analyses, sourced{fmt.Sprintf("step %d", index), step.Analysis})
		}
	}
	if blueGreen := rollout.Spec.Strategy.BlueGreen; blueGreen != nil {
		analyses = append(analyses, sourced{"prePromotion", blueGreen.PrePromotionAnalysis},
			sourced{"postPromotion", blueGreen.PostPromotionAnalysis})
	}
	for _, each := range analyses {
		if each.analysis == nil {
			continue
		}
		if err := add(each.source, each.analysis); err != nil {
			return nil, err
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("Rollout %s runs no analysis", rollout.Name)
	}
	return runs, nil
}

func sameRun(a, b *pendingRun) bool {
	if a.err != nil || b.err != nil {
		return a.err != nil && b.err != nil && a.err.Error() == b.err.Error() &&
			strings.Join(a.templates, ",") == strings.Join(b.templates, ",")
	}
	return analysisutil.IsSemanticallyEqual(a.run.Spec, b.run.Spec)
}

func replicaSet(hash string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
	}}
}

// checkOverrides rejects --arg names no AnalysisTemplate declares, so a typo cannot go unnoticed.
func checkOverrides(overrides keyValues, templates map[string]*v1alpha1.AnalysisTemplate) error {
	for name := range overrides {
		declared := false
		for _, template := range templates {
			for _, arg := range template.Spec.Args {
				declared = declared || arg.Name == name
			}
		}
		if !declared {
			return fmt.Errorf("--arg %s: no AnalysisTemplate declares an arg of that name", name)
		}
	}
	return nil
}

// measure takes one measurement of each metric of a run as the controller does: resolve the
// args into each metric, validate the metrics, create each provider and call its Run.
func measure(pending *pendingRun, templates map[string]*v1alpha1.AnalysisTemplate, overrides keyValues, secrets map[string]string) Run {
	out := Run{Sources: pending.sources, Templates: pending.templates, Metrics: []MetricResult{}}
	if pending.err != nil {
		out.Error = pending.err.Error()
		return out
	}
	run := pending.run
	args, err := resolveArgs(run.Spec.Args, overrides, secrets)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	var metrics []v1alpha1.Metric
	for _, metric := range run.Spec.Metrics {
		resolved, err := analysisutil.ResolveMetricArgs(metric, args)
		if err != nil {
			out.Error = fmt.Sprintf("Unable to resolve metric arguments: %v", err)
			return out
		}
		metrics = append(metrics, *resolved)
	}
	if err := analysisutil.ValidateMetrics(metrics); err != nil {
		out.Error = fmt.Sprintf("Analysis spec invalid: %v", err)
		return out
	}
	logger := log.WithField("analysisrun", run.GenerateName)
	for _, metric := range metrics {
		result := MetricResult{
			Template: templateOf(metric.Name, pending.templates, templates),
			Metric:   metric.Name,
			Provider: providerType(metric),
		}
		provider, err := newProvider(*logger.WithField("metric", metric.Name), metric)
		if err != nil {
			// The controller records a provider error as an Error measurement too.
			result.Phase = string(v1alpha1.AnalysisPhaseError)
			result.Message = err.Error()
		} else {
			measurement := provider.Run(run, metric)
			result.Phase = string(measurement.Phase)
			result.Value = measurement.Value
			result.Message = redact(measurement.Message, secrets)
		}
		out.Metrics = append(out.Metrics, result)
	}
	return out
}

func providerType(m v1alpha1.Metric) string {
	switch {
	case m.Provider.Web != nil:
		return webmetric.ProviderType
	case m.Provider.Prometheus != nil:
		return prometheus.ProviderType
	}
	return "unsupported"
}

// newProvider is metricproviders.ProviderFactory.NewProvider's code for the web and prometheus types.
func newProvider(logger log.Entry, m v1alpha1.Metric) (metric.Provider, error) {
	switch providerType(m) {
	case webmetric.ProviderType:
		client, err := webmetric.NewWebMetricHttpClient(m)
		if err != nil {
			return nil, err
		}
		parser, err := webmetric.NewWebMetricJsonParser(m)
		if err != nil {
			return nil, err
		}
		return webmetric.NewWebMetricProvider(logger, client, parser), nil
	case prometheus.ProviderType:
		api, err := prometheus.NewPrometheusAPI(m)
		if err != nil {
			return nil, err
		}
		return prometheus.NewPrometheusProvider(api, logger, m)
	}
	return nil, fmt.Errorf("metric %s: only the web and prometheus providers are supported by this harness", m.Name)
}

// resolveArgs substitutes secretKeyRef args (the controller reads the Secret from the cluster)
// and the harness's --arg overrides into Argo's merged args.
func resolveArgs(merged []v1alpha1.Argument, overrides keyValues, secrets map[string]string) ([]v1alpha1.Argument, error) {
	args := make([]v1alpha1.Argument, 0, len(merged))
	for _, arg := range merged {
		arg := *arg.DeepCopy()
		if arg.ValueFrom != nil && arg.ValueFrom.SecretKeyRef != nil {
			ref := arg.ValueFrom.SecretKeyRef.Name + "/" + arg.ValueFrom.SecretKeyRef.Key
			value, ok := secrets[ref]
			if !ok {
				return nil, fmt.Errorf("args.%s: secret %s not given (--secret %s=FILE)", arg.Name, ref, ref)
			}
			arg.Value = &value
		}
		if value, ok := overrides[arg.Name]; ok {
			arg.Value = &value
		}
		args = append(args, arg)
	}
	return args, nil
}

func templateOf(metric string, names []string, templates map[string]*v1alpha1.AnalysisTemplate) string {
	for _, name := range names {
		for _, candidate := range templates[name].Spec.Metrics {
			if candidate.Name == metric {
				return name
			}
		}
	}
	return ""
}

// redact hides secret values in messages, as the controller does before storing them.
func redact(message string, secrets map[string]string) string {
	for _, secret := range secrets {
		if secret != "" {
			message = strings.ReplaceAll(message, secret, "*****")
		}
	}
	return message
}

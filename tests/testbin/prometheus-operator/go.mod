// Wrapper module that pins the prometheus-operator release whose CRDs
// (ServiceMonitor, PrometheusRule) the chart's monitoring objects are
// dry-run against. Nothing is built from it: build.sh copies the CRDs out of
// the module's example/prometheus-operator-crd/.
module testbin/prometheus-operator

go 1.26.7

require github.com/prometheus-operator/prometheus-operator v0.85.0

package engine

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/provision/report"
)

// metrics are the engine's Prometheus collectors. Dry runs count in none
// of them: they change nothing.
type metrics struct {
	cycles   *prometheus.CounterVec
	objects  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ratio    *prometheus.GaugeVec
	eta      *prometheus.GaugeVec
	running  *prometheus.GaugeVec
	steady   *prometheus.GaugeVec
}

// newMetrics returns the engine's collectors, registered with reg unless
// it is nil. A collector reg already has (a second engine in one process)
// is used as it is.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roster_provision_cycles_total",
			Help: "Provisioning cycles that ended, by job, type (initial or incremental) and status."},
			[]string{"job", "type", "status"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roster_provision_objects_total",
			Help: "Objects provisioning cycles handled, by job, action (Create, Update, Disable, Delete, Other) and status (Success, Failure, Skipped, Warning)."},
			[]string{"job", "action", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "roster_provision_cycle_duration_seconds",
			Help:    "How long provisioning cycles took, by job and type.",
			Buckets: prometheus.ExponentialBuckets(0.5, 4, 9)}, // 0.5 s to about 9 hours
			[]string{"job", "type"}),
		ratio: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roster_provision_cycle_progress_ratio",
			Help: "The running cycle's objects processed of its estimated total, 0 to 1; -1 when there is no estimate."},
			[]string{"job"}),
		eta: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roster_provision_cycle_eta_seconds",
			Help: "How long the running cycle should still take at its current rate; -1 when unknown."},
			[]string{"job"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roster_provision_cycle_running",
			Help: "1 while a cycle of the job runs on this node."},
			[]string{"job"}),
		steady: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roster_provision_steady_state",
			Help: "1 when the job's last cycle on this node left it in steady state, 0 when not."},
			[]string{"job"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	for _, do := range []func() error{
		func() (e error) { m.cycles, e = register(reg, m.cycles); return },
		func() (e error) { m.objects, e = register(reg, m.objects); return },
		func() (e error) { m.duration, e = register(reg, m.duration); return },
		func() (e error) { m.ratio, e = register(reg, m.ratio); return },
		func() (e error) { m.eta, e = register(reg, m.eta); return },
		func() (e error) { m.running, e = register(reg, m.running); return },
		func() (e error) { m.steady, e = register(reg, m.steady); return },
	} {
		err = errors.Join(err, do())
	}
	return m, err
}

// register registers c, or returns the collector reg already has in its
// place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register the engine's metrics: %w", err)
}

func cycleType(initial bool) string {
	if initial {
		return "initial"
	}
	return "incremental"
}

// object counts one object's outcome.
func (m *metrics) object(job string, dry bool, action, status string) {
	if !dry {
		m.objects.WithLabelValues(job, action, status).Inc()
	}
}

// progress sets the running cycle's gauges.
func (m *metrics) progress(job string, dry bool, p report.Progress) {
	if dry {
		return
	}
	m.running.WithLabelValues(job).Set(1)
	ratio := -1.0
	if pc := p.Percent(); pc >= 0 {
		ratio = pc / 100
	}
	m.ratio.WithLabelValues(job).Set(ratio)
	eta := -1.0
	if p.ETASeconds != nil {
		eta = *p.ETASeconds
	}
	m.eta.WithLabelValues(job).Set(eta)
}

// progressEnded clears the running cycle's gauges.
func (m *metrics) progressEnded(job string, dry bool) {
	if dry {
		return
	}
	m.running.WithLabelValues(job).Set(0)
	m.ratio.DeleteLabelValues(job)
	m.eta.DeleteLabelValues(job)
}

// cycleEnded counts an ended cycle and sets the job's steady-state gauge.
func (m *metrics) cycleEnded(rep Report, steady bool) {
	if rep.DryRun {
		return
	}
	m.cycles.WithLabelValues(rep.Job, cycleType(rep.Initial), rep.Status).Inc()
	m.duration.WithLabelValues(rep.Job, cycleType(rep.Initial)).Observe(rep.Ended.Sub(rep.Started).Seconds())
	v := 0.0
	if steady {
		v = 1
	}
	m.steady.WithLabelValues(rep.Job).Set(v)
}

// observeEnd records the ended cycle in the engine's metrics; cycle.run
// calls it once the cycle's end is written.
func (c *cycle) observeEnd(rep Report) {
	if c.opts.onDemand != nil {
		return // one object now, not a cycle of the job
	}
	c.e.metrics.cycleEnded(rep, c.steady.Load() && c.held == "")
}

// newMetrics returns the engine's collectors, registered with
// Config.Metrics; a registration that fails is logged, and the engine
// counts on unregistered.
func (e *Engine) newMetrics() *metrics {
	m, err := newMetrics(e.cfg.Metrics)
	if err != nil {
		e.log.Warn("provisioning: metrics", "err", err)
	}
	return m
}

package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/source"
)

// Check is the outcome of testing one side of a job.
type Check struct {
	OK bool `json:"ok"`
	// Cause classifies a failure (credentials, address, tls, timeout,
	// unreachable, protocol, server); Message says what to fix.
	Cause   string `json:"cause,omitempty"`
	Message string `json:"message"`
}

// Connection is the outcome of a job's Test Connection.
type Connection struct {
	Source   Check    `json:"source"`
	Target   Check    `json:"target"`
	Warnings []string `json:"warnings,omitempty"`
}

// TestConnection checks a job's source and target as Entra's Test
// Connection does, and reads the target's schemas to warn about mapped
// attributes it does not advertise. Only a job that cannot be read or
// whose document cannot be used is an error.
func (e *Engine) TestConnection(ctx context.Context, name string) (Connection, error) {
	j, err := e.jobs.Get(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	m := j.EffectiveMappings()
	users, err := mapping.Compile("User", m.Users)
	if err != nil {
		return Connection{}, fmt.Errorf("job %s: user mappings: %w", name, err)
	}
	groups, err := mapping.Compile("Group", m.Groups)
	if err != nil {
		return Connection{}, fmt.Errorf("job %s: group mappings: %w", name, err)
	}
	var res Connection
	src, err := e.cfg.OpenSource(j.Source)
	if err == nil {
		err = src.Test(ctx)
	}
	res.Source = check(err, func() string { return "connected to " + src.Describe() })
	tgt, err := e.cfg.OpenTarget(j.Target)
	if err == nil {
		match := "userName"
		if ks := users.Matching(); len(ks) > 0 {
			match = ks[0]
		}
		err = tgt.Test(ctx, match)
	}
	res.Target = check(err, func() string { return "connected to " + tgt.Describe() })
	if res.Target.OK {
		for _, t := range []struct {
			rt  string
			set *mapping.Set
		}{{"User", users}, {"Group", groups}} {
			ws, err := tgt.SchemaWarnings(ctx, t.rt, t.set.Paths())
			if err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("read the target's schemas: %v", err))
			}
			res.Warnings = append(res.Warnings, ws...)
		}
	}
	return res, nil
}

func check(err error, ok func() string) Check {
	if err == nil {
		return Check{OK: true, Message: ok()}
	}
	var se *source.TestError
	if errors.As(err, &se) {
		return Check{Cause: string(se.Cause), Message: se.Message}
	}
	return Check{Message: err.Error()}
}

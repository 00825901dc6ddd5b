package config

import (
	"slices"
	"strings"
)

// EnvNames lists every environment variable Load honours, in table order
// (SRS_LISTEN, SRS_MAX_CONNECTIONS, ..., SRS_VHOST_RTC_RTC_TO_RTMP).
func EnvNames() []string {
	var names []string
	for _, f := range configFields {
		names = append(names, f.env...)
	}
	for _, f := range vhostFields {
		names = append(names, f.env...)
	}
	return names
}

// applyEnv overrides the file with every non-empty SRS_* variable.
// Vhost-scoped variables apply to every vhost.
func (l *loader) applyEnv(getenv func(string) string) error {
	for i := range configFields {
		name, err := override(&configFields[i], getenv, l.cfg)
		if err != nil {
			return err
		}
		if name != "" {
			l.origins[configFields[i].path] = origin{env: name}
		}
	}
	vhosts := make([]*Vhost, len(l.cfg.Vhosts))
	for i := range l.cfg.Vhosts {
		vhosts[i] = &l.cfg.Vhosts[i]
	}
	for i := range vhostFields {
		if _, err := override(&vhostFields[i], getenv, vhosts...); err != nil {
			return err
		}
	}
	return nil
}

// override applies the first non-empty variable of f to each dst and
// returns its name, or "" when none is set.
func override[T any](f *field[T], getenv func(string) string, dsts ...*T) (string, error) {
	i := slices.IndexFunc(f.env, func(name string) bool { return getenv(name) != "" })
	if i < 0 {
		return "", nil
	}
	name, value := f.env[i], getenv(f.env[i])
	args := []string{value}
	if f.list {
		args = strings.Fields(value)
	}
	for _, dst := range dsts {
		if err := f.apply(dst, args); err != nil {
			return "", &Error{Env: name, Directive: f.path, Msg: err.Error()}
		}
	}
	return name, nil
}

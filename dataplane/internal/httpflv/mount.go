package httpflv

import (
	"errors"
	"strings"
)

// DefaultMount is SRS's http_remux mount.
const DefaultMount = "[vhost]/[app]/[stream].flv"

// mount is a parsed http_remux mount: literal text and the [vhost],
// [app] and [stream] variables, in order. A leading "[vhost]/" is not part
// of the path: as in SRS, the vhost then comes from the request's host
// (or its ?vhost= parameter).
type mount struct {
	parts []part
}

type part struct {
	literal  string
	variable string // "vhost", "app" or "stream" when literal is empty
}

var errMount = errors.New("httpflv: a mount is a path with [stream] that ends in .flv")

// parseMount parses a mount template.
func parseMount(tmpl string) (mount, error) {
	tmpl = strings.TrimPrefix(tmpl, "[vhost]/")
	if !strings.HasPrefix(tmpl, "/") {
		tmpl = "/" + tmpl
	}
	if !strings.HasSuffix(tmpl, ".flv") || !strings.Contains(tmpl, "[stream]") {
		return mount{}, errMount
	}
	var m mount
	for rest := tmpl; rest != ""; {
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			m.parts = append(m.parts, part{literal: rest})
			break
		}
		if i > 0 {
			m.parts = append(m.parts, part{literal: rest[:i]})
		}
		j := strings.IndexByte(rest, ']')
		if j < i {
			return mount{}, errMount
		}
		switch v := rest[i+1 : j]; v {
		case "vhost", "app", "stream":
			if n := len(m.parts); n > 0 && m.parts[n-1].variable != "" {
				return mount{}, errMount // two variables in a row cannot be told apart
			}
			m.parts = append(m.parts, part{variable: v})
		default:
			return mount{}, errMount
		}
		rest = rest[j+1:]
	}
	return m, nil
}

// match fills the variables from a request path; each takes at least one
// character and no '/', and the last one stops at the last occurrence of
// what follows it (a stream name may hold dots).
func (m mount) match(path string) (vars map[string]string, ok bool) {
	vars = make(map[string]string, 3)
	for i, p := range m.parts {
		if p.literal != "" {
			if !strings.HasPrefix(path, p.literal) {
				return nil, false
			}
			path = path[len(p.literal):]
			continue
		}
		end := len(path)
		if i+1 < len(m.parts) {
			next := m.parts[i+1].literal
			if i+2 == len(m.parts) {
				end = strings.LastIndex(path, next)
			} else {
				end = strings.Index(path, next)
			}
		}
		if end <= 0 || strings.IndexByte(path[:end], '/') >= 0 {
			return nil, false
		}
		vars[p.variable] = path[:end]
		path = path[end:]
	}
	return vars, path == ""
}

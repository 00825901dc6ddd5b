// Package config reads the SRS configuration file and SRS_* environment
// variables into a Config value, the control plane's single source of
// settings (it pushes the part workers need to them).
//
// # Grammar
//
// The file format is SRS's, which is nginx's:
//
//	# a comment
//	listen 1935;                  # name args... ;
//	http_api {                    # name args... { directives }
//	    enabled on;
//	    auth { username "a b"; }  # "..." and '...' quote, with no escapes
//	}
//	include vhosts.conf more.conf; # spliced here, in order
//
// Words are separated by spaces, tabs, CR and LF; ';' and '{' also end a
// word. '#' starts a comment only at the start of a word ("19#35" is one
// word), and so do quotes; a closing quote must be followed by a separator.
// A directive — its name and arguments up to ';' or '{' — must fit on one
// line, so a block's '{' is on the line of its name; '}' stands alone.
// "include f1 f2...;" is allowed in any block and splices the files' directives
// into it; each included file must be complete on its own. Relative
// paths resolve against ParseOptions.BaseDir (SRS: the working directory).
// Include cycles, includes nested deeper than 8, files over 4 MiB and
// blocks nested deeper than 32 are errors.
//
// # Meaning
//
// Load applies defaults, then the file, then environment overrides, then
// checks the whole. The variable for directive a.b.c is SRS_A_B_C (see
// EnvNames); a non-empty value wins over the file, vhost.* variables apply
// to every vhost, and SRS_LISTEN is split on spaces. Switches follow SRS:
// one that defaults to off is on only for "on", one that defaults to on is
// off only for "off". Scalars take exactly one value. A directive or block
// given twice in one block is accepted as SRS accepts it: the first is
// used (SrsConfDirective::get returns the first match) and the others are
// ignored with a warning naming both lines. SRS's renames apply first, as
// in srs_config_transform_vhost: http_stream is http_server (the first of
// the two wins), and SRS 3 vhost directives move into play, where they
// override play's own. Unknown directives are errors where SRS rejects
// them (top level, http_api, http_server, rtc_server, exporter, vhost,
// ...); SRS directives we do not implement (hls, dvr, http_hooks, stats,
// ...) are accepted and listed once each in Config.Warnings, and those
// that guard who may publish and play (http_hooks, security, refer) get a
// warning saying what is not enforced when they are on. Warnings are
// bounded in number.
//
// Errors are *Error and name the file and line (or the variable) and the
// directive path. They never copy raw input: a word is quoted as a
// directive name only when it has a name's shape (and, for a statement
// that never ended, only when it is a directive we know), and a value only
// when it is short, escaped; `include /etc/shadow;` reports the file and
// line and "not a directive", not the line.
//
// # The fleet block
//
// fleet is ours, not SRS's. It says where data-plane workers open their
// gRPC stream to the control plane and how it is secured:
//
//	fleet {
//	    listen        1988;          # [ip:]port the control plane listens on for workers
//	    token         s3cret;        # shared token workers present (SRS_FLEET_TOKEN)
//	    ping_interval 1000;          # ms between pings on an idle stream
//	    expire_after  3000;          # ms of silence after which a worker and its streams expire
//	    tls {
//	        enabled   on;
//	        key       ./conf/fleet.key;
//	        cert      ./conf/fleet.crt;
//	        client_ca ./conf/workers.ca;  # set: workers need a certificate signed by it (mTLS)
//	    }
//	}
//
// Secrets (the fleet token, the API password) are of type Secret, which
// never prints its value.
package config

// Package httpapi is the control plane's SRS-compatible HTTP API: the
// routes, JSON shapes and wire behaviour of SRS 7's API port, as captured
// in srs-http-api.md (§2–§6), served for the whole fleet of media workers.
// It is the only package that knows gin; its inputs come through small
// interfaces (Fleet, Stats, RawHandler) and live Settings, so it imports
// neither the configuration nor the gRPC adapter.
//
// # Request path
//
// transport.go is SRS's connection layer: Server header, CORS headers,
// OPTIONS, then the checks SRS makes before routing ("..", the JSONP
// callback). Options.Middleware comes next (Basic auth, a JSONP policy),
// then the gin router built from the table in routes.go. Handlers write
// with the hand-written encoder of jsonw.go; every error becomes a
// response in one function, fail (respond.go).
//
// # Serving a cluster
//
// Any number of control-plane replicas may answer behind one address.
// Each serves the whole fleet from its own registry, so what the API shows
// must not depend on which replica answers:
//
//   - server (the envelope's) is the cluster's server_id: the same on
//     every replica and across restarts.
//   - service identifies the deployment. SRS draws it at each start and its
//     console treats a new value as a restarted server; we derive it from
//     server_id (ServiceID), so it does not flap when consecutive requests
//     land on different replicas.
//   - pid is the answering replica's process id. It is the one envelope
//     field that varies between requests, and it says which replica
//     answered.
//   - Stream and client ids are made by the workers and unique in the
//     fleet; vhost ids derive from the vhost name; lists are sorted by id,
//     so start/count pages are the same on every replica.
//   - summaries, rusages, self_proc_stats, system_proc_stats, meminfos and
//     srs_cpu_percent/srs_memory describe the answering replica's process
//     and host; everything about streams, clients and traffic is the
//     fleet's.
//
// # Where we differ from SRS 7.0.18, on purpose
//
//   - count is honoured from 1 up (upstream dropped the floor of 10).
//   - A bad JSONP callback (or one longer than 128) and ".." in the path
//     answer 400 with a reason; SRS closes the connection without a word.
//   - No "Connection: Close" header (SRS sends it yet keeps the
//     connection); the Server header names our product, while
//     /api/v1/versions reports SRS's version numbers, so SRS tools accept
//     us, plus a "product" field with ours.
//   - Query strings are URL-decoded as Go does; SRS's ',' and ';'
//     separators still work ("?start=1,count=20").
//   - Control characters other than \b \f \n \r \t are escaped as \u00XX
//     (SRS emits them raw, which no JSON parser accepts).
//   - DELETE /api/v1/clients/{id} answers once the worker has acted, with
//     1011 (timeout) or 1012 (worker unreachable) when it could not.
//   - Verbs other than GET, HEAD, POST, PUT, PATCH and DELETE answer 405;
//     /metrics is never wrapped in a JSONP callback.
//   - /api/v1/vhosts/ lists the vhosts in use now, not every vhost used
//     since start, which soft state rebuilt from snapshots cannot know.
//   - srs_clients_errs_total counts the sessions that ended with an error,
//     not those the client ended or closed, or that were kicked (SRS
//     counts every disconnect with an error code); both client counters
//     sum every worker the replica has known since it started.
//
// # Extensions
//
//   - GET /api/v1/workers/ and /api/v1/workers/{node}: the media workers.
//   - Every stream and client object ends with "node", the worker serving
//     it; every kbps object ends with recv_now and send_now, the current
//     rates (over fleet.CurrentSpan) after SRS's 30-second averages.
//   - GET /api/v1/summaries?node={node}: a worker's process and host
//     figures in the summaries shape.
//   - /api/v1/versions' data ends with "product".
//   - /metrics adds tidecast_workers and per-worker tidecast_worker_*
//     series labelled by node.
package httpapi

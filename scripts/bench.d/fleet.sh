# Fleet registry: ingesting a worker's samples and rebuilding the view.
gobench controlplane ./internal/fleet/ .

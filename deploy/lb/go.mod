module tidecast.dev/deploy/lb

go 1.26.8

# The media worker: RTMP on 1935, HTTP-FLV on 8080 when the control plane's
# http_server enables it. It dials the control plane
# (DATAPLANE_CONTROL_PLANE) and needs no inbound port but those.
# Built by `make docker` from a static binary; nothing is pulled.
FROM scratch
COPY dataplane /dataplane
USER 65532:65532
EXPOSE 1935/tcp 8080/tcp
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/dataplane", "healthcheck"]
ENTRYPOINT ["/dataplane"]
LABEL org.opencontainers.image.title="tidecast dataplane" \
      org.opencontainers.image.vendor="tidecast"

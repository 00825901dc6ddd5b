# The media worker: RTMP on 1935. It dials the control plane
# (DATAPLANE_CONTROL_PLANE) and needs no inbound port but RTMP's.
# Built by `make docker` from a static binary; nothing is pulled.
FROM scratch
COPY dataplane /dataplane
USER 65532:65532
EXPOSE 1935/tcp
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/dataplane", "healthcheck"]
ENTRYPOINT ["/dataplane"]
LABEL org.opencontainers.image.title="tidecast dataplane" \
      org.opencontainers.image.vendor="tidecast"

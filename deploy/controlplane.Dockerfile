# The control plane: the SRS-compatible HTTP API (1985) and the fleet
# endpoint the workers dial (1988). Built by `make docker` from a static
# binary (CGO_ENABLED=0) in the build context; nothing is pulled.
FROM scratch
COPY controlplane /controlplane
# Any non-root id works: the process writes nothing to disk when server_id
# is configured and the log goes to the console.
USER 65532:65532
EXPOSE 1985/tcp 1988/tcp
# The probe reads the same configuration (SRS_CONFIG_FILE) as the server.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/controlplane", "healthcheck"]
ENTRYPOINT ["/controlplane"]
LABEL org.opencontainers.image.title="tidecast controlplane" \
      org.opencontainers.image.vendor="tidecast"

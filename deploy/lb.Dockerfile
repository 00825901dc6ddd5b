# The TCP balancer that puts every control-plane replica behind one
# address (deploy/lb). Built by `make docker`; nothing is pulled.
FROM scratch
COPY lb /lb
USER 65532:65532
EXPOSE 1985/tcp
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/lb", "healthcheck"]
ENTRYPOINT ["/lb"]
LABEL org.opencontainers.image.title="tidecast lb" \
      org.opencontainers.image.vendor="tidecast"

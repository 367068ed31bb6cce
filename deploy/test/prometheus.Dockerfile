# A local Prometheus image for the compose test (deploy/test/e2e.sh), for
# machines that reach Debian's packages but no container registry: the
# prometheus and promtool binaries of Debian's `prometheus` package (built
# from the same sources as prom/prometheus, linked only to libc) on the
# local Debian base. The build context holds the two binaries.
FROM debian:bookworm-slim
COPY prometheus promtool /bin/
RUN mkdir -p /prometheus /etc/prometheus && chown 65534:65534 /prometheus
USER 65534:65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]

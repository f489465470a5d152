# The dynakv node image: nothing but the static binary (no base image can be
# pulled here or in CI). Build the binary on the host first, then the image:
#
#   CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o dynakv ./cmd/dynakv
#   docker build -t dynakv:local .
#
# The binary must be static (CGO_ENABLED=0): there is no libc in the image.
# .dockerignore sends only ./dynakv. scripts/cluster.sh builds both, with the
# binary in a folder of its own that is the whole build context:
#   docker build -f Dockerfile -t dynakv:local /tmp/dynakv-compose-dynakv
FROM scratch
COPY dynakv /dynakv
# Client API, gossip (TCP and UDP) and node-to-node RPC (gossip port + 1).
EXPOSE 8080 7946/tcp 7946/udp 7947
# The node keeps its data (pebble, IDENTITY, MEMBERS) here; mount a volume.
VOLUME ["/data"]
HEALTHCHECK --interval=2s --timeout=3s --start-period=10s --retries=5 \
  CMD ["/dynakv", "health", "-e", "http://127.0.0.1:8080"]
ENTRYPOINT ["/dynakv"]
CMD ["serve", "--data", "/data", "--http", "0.0.0.0:8080", "--gossip", "0.0.0.0:7946"]

# sgseq container image: the static binary on an empty base.
#
# Build context: dist/, prepared by (see README "Deploy"):
#   CGO_ENABLED=0 go build -trimpath -o dist/sgseq ./cmd/sgseq
#   cp /etc/ssl/certs/ca-certificates.crt dist/
#   mkdir -p -m 1777 dist/empty
# then: docker build -t sgseq .   (or buildah bud -t sgseq .)
#
# The image runs as UID/GID 65532, keeps its store under /var/lib/sgseq (a
# volume) and serves /healthz, /readyz and /metrics on 9464 when the config
# sets http.addr: ":9464". Time zones come from the binary (time/tzdata).
FROM scratch

COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chown=65532:65532 dist/empty/ /tmp/
COPY --chown=65532:65532 dist/empty/ /var/lib/sgseq/
COPY dist/sgseq /sgseq

# The default store is $XDG_STATE_HOME/sgseq/sgseq.db = /var/lib/sgseq/sgseq.db;
# store.path or SGSEQ_DB overrides it.
ENV XDG_STATE_HOME=/var/lib \
    HOME=/tmp \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
VOLUME ["/var/lib/sgseq"]
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/sgseq"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# Multi-stage build: a static kaito-sync binary on a distroless, non-root base. go-git is pure Go, so
# the image needs no git binary; distroless/static carries CA certificates for HTTPS remotes and AKS.
#
#   docker build -t kaito-sync \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) .
#
# The Go release is go.mod's: the golang images set GOTOOLCHAIN=local, so an older one would refuse
# to build rather than download a toolchain.
ARG GO_VERSION=1.26.8

# The build runs on the builder's platform and cross-compiles (no emulation for multi-arch images).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so source edits reuse the module cache layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Set by BuildKit to the platform being built (--platform); the host's when unset.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
# The build context has no .git (.dockerignore): the commit comes in as an argument.
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
    -o /out/kaito-sync ./cmd/kaito-sync

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="kaito-sync" \
      org.opencontainers.image.description="Run Kaito AI workspaces on Kubernetes from Git" \
      org.opencontainers.image.source="https://github.com/kaito-sync/kaito-sync" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/kaito-sync /usr/local/bin/kaito-sync
# 65532 is distroless' "nonroot" user; numeric so Kubernetes runAsNonRoot can verify it (deploy/
# runs it with the same UID and a read-only root filesystem; /tmp is an emptyDir there).
USER 65532:65532
# /metrics, /healthz and /readyz (--metrics-addr :8080); push webhooks (--webhook-addr :9292).
EXPOSE 8080 9292
ENTRYPOINT ["/usr/local/bin/kaito-sync"]

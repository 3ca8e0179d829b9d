# syntax=docker/dockerfile:1
# Multi-stage build: a static kaito-sync binary on a distroless, non-root base. go-git is pure Go, so
# the image needs no git binary; distroless/static carries CA certificates for HTTPS remotes and AKS.
FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so source edits reuse the module cache layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/kaito-sync ./cmd/kaito-sync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kaito-sync /usr/local/bin/kaito-sync
# 65532 is distroless' "nonroot" user; numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kaito-sync"]

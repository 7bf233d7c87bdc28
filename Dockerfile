# The manager image: the same binary as `make build`, static, run as the non-root user 65532.
#
# The final stage is distroless/static:nonroot's content: the binary, CA certificates for the
# Falcon API, no shell, no package manager. By default it is assembled on `scratch`, which needs
# no registry; to build on the distroless image itself, or to take the Go image from your
# registry or mirror, pass their full references:
#   docker build --build-arg BUILDER_IMAGE=<registry>/golang:1.26 \
#     --build-arg BASE_IMAGE=<registry>/distroless/static:nonroot -t <image> .
ARG BUILDER_IMAGE=golang:1.26
ARG BASE_IMAGE=scratch

FROM ${BUILDER_IMAGE} AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Modules first, in their own layer, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY main.go main.go
COPY api/ api/
COPY internal/ internal/

# GOARCH follows the platform being built (docker buildx --platform); GOOS defaults to linux.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -o manager .

FROM ${BASE_IMAGE}
WORKDIR /
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]

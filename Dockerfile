# The manager image: the same binary as `make build`, on a distroless non-root base.
#
# The base images are build arguments so that they can come from your registry or mirror; pass
# their full references there, for example:
#   docker build --build-arg BUILDER_IMAGE=<registry>/golang:1.26 \
#     --build-arg BASE_IMAGE=<registry>/distroless/static:nonroot -t <image> .
ARG BUILDER_IMAGE=golang:1.26
ARG BASE_IMAGE=distroless/static:nonroot

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
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]

//! OTLP/gRPC: `TraceService/Export` and `LogsService/Export` (tonic, gzip accepted).
//!
//! Trace exports, the bulk of the traffic, are served by [`RawTraceServer`]: tonic handles the
//! framing, compression and size limit, and hands over the message's bytes undecoded, so ingest
//! reads them in place on a blocking thread ([`crate::otlp_wire`]) instead of building prost
//! structs on the async runtime. Logs go through tonic's generated server.

use faultline_proto::otlp::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use faultline_proto::otlp::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceResponse;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{
    Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder,
};
use tonic::codegen::{Body, BoxFuture, StdError};
use tonic::server::{NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};

use crate::auth::Auth;
use crate::ingest::{Compression, Format, Ingest};
use crate::receiver::Receiver;

/// The OTLP gRPC services over one [`Ingest`].
#[derive(Clone)]
pub struct OtlpGrpc {
    ingest: Ingest,
}

impl OtlpGrpc {
    /// Wraps the pipeline.
    pub fn new(ingest: Ingest) -> Self {
        OtlpGrpc { ingest }
    }

    fn project<T>(&self, receiver: Receiver, req: &Request<T>) -> Result<String, Status> {
        let headers = req.metadata().clone().into_headers();
        self.ingest
            .auth()
            .project_for(Auth::token_from_headers(&headers))
            .map_err(|e| self.ingest.refuse(receiver, e, 0).into())
    }

    /// `TraceService` server with gzip and the configured message size limit, reading exports in
    /// place.
    pub fn trace_server(&self) -> RawTraceServer {
        RawTraceServer { grpc: self.clone() }
    }

    /// `LogsService` server with gzip and the configured message size limit.
    pub fn logs_server(&self) -> LogsServiceServer<OtlpGrpc> {
        let max = self.ingest.limits().max_body_bytes;
        LogsServiceServer::new(self.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max)
    }
}

impl OtlpGrpc {
    async fn export_traces(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        const RECEIVER: Receiver = Receiver::OtlpGrpcTraces;
        let project = self.project(RECEIVER, &request)?;
        self.ingest
            .traces(
                RECEIVER,
                project,
                Format::Protobuf,
                Compression::None,
                request.into_inner(),
            )
            .await?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// `opentelemetry.proto.collector.trace.v1.TraceService` with the request left as bytes.
#[derive(Clone)]
pub struct RawTraceServer {
    grpc: OtlpGrpc,
}

impl NamedService for RawTraceServer {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl<B> tower::Service<http::Request<B>> for RawTraceServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != "/opentelemetry.proto.collector.trace.v1.TraceService/Export" {
            return Box::pin(async move {
                let mut response = http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(Status::GRPC_STATUS, (Code::Unimplemented as i32).into());
                headers.insert(
                    http::header::CONTENT_TYPE,
                    tonic::metadata::GRPC_CONTENT_TYPE,
                );
                Ok(response)
            });
        }
        let grpc = self.grpc.clone();
        Box::pin(async move {
            let mut gzip = EnabledCompressionEncodings::default();
            gzip.enable(CompressionEncoding::Gzip);
            let max = grpc.ingest.limits().max_body_bytes;
            let mut server = tonic::server::Grpc::new(BytesCodec)
                .apply_compression_config(gzip, gzip)
                .apply_max_message_size_config(Some(max), None);
            Ok(server.unary(ExportRaw(grpc), req).await)
        })
    }
}

struct ExportRaw(OtlpGrpc);

impl UnaryService<Bytes> for ExportRaw {
    type Response = Bytes;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let grpc = self.0.clone();
        Box::pin(async move {
            let resp = grpc.export_traces(request).await?;
            Ok(resp.map(|r| Bytes::from(prost::Message::encode_to_vec(&r))))
        })
    }
}

/// A gRPC codec that leaves messages as bytes both ways: the server reads trace exports in place,
/// and clients (the load generator, tests) send exports encoded beforehand.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        BytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesCodec
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        const RECEIVER: Receiver = Receiver::OtlpGrpcLogs;
        let project = self.project(RECEIVER, &request)?;
        self.ingest
            .logs(RECEIVER, project, request.into_inner())
            .await?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

/// Tonic answers a request it cannot decode with `INTERNAL` (gRPC's convention for a server-side
/// parse failure); Faultline's error table says malformed input is the client's fault:
/// `INVALID_ARGUMENT`. Applied as a response layer on the gRPC router.
pub fn decode_errors_are_invalid_argument(
    mut resp: axum::response::Response,
) -> axum::response::Response {
    let h = resp.headers_mut();
    let internal = h.get("grpc-status").is_some_and(|v| v == "13");
    let decode = h
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| {
            m.starts_with("failed%20to%20decode") || m.starts_with("failed to decode")
        });
    if internal && decode {
        h.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
    resp
}

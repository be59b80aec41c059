//! OTLP/gRPC: `TraceService/Export` and `LogsService/Export` (tonic, gzip accepted).

use faultline_proto::otlp::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use faultline_proto::otlp::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use faultline_proto::otlp::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use faultline_proto::otlp::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::auth::Auth;
use crate::ingest::Ingest;

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

    fn project<T>(&self, source: &str, req: &Request<T>) -> Result<String, Status> {
        let headers = req.metadata().clone().into_headers();
        self.ingest
            .auth()
            .project_for(Auth::token_from_headers(&headers))
            .map_err(|e| self.ingest.refuse(source, e, 0).into())
    }

    /// `TraceService` server with gzip and the configured message size limit.
    pub fn trace_server(&self) -> TraceServiceServer<OtlpGrpc> {
        let max = self.ingest.limits().max_body_bytes;
        TraceServiceServer::new(self.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max)
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

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        const SOURCE: &str = "otlp_grpc_traces";
        let project = self.project(SOURCE, &request)?;
        self.ingest
            .traces(SOURCE, project, request.into_inner())
            .await?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        const SOURCE: &str = "otlp_grpc_logs";
        let project = self.project(SOURCE, &request)?;
        self.ingest
            .logs(SOURCE, project, request.into_inner())
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

//! Faultline's health crate in a ten-line axum app: `cargo run -p faultline-health --example minimal`,
//! then `curl -i localhost:3000/health/ready` (and `/health`, `/live`, `/hello`).
use faultline_health::{FnCheck, Health, HttpMetrics, Outcome, Readiness, RequestLayer};
use std::time::Duration;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let ready = Readiness::default();
    ready.set(true);
    let check = FnCheck::critical("always", || async { Outcome::ok() });
    let health = Health::new(ready, vec![Box::new(check)], Duration::from_secs(2));
    let app = health
        .router()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .layer(RequestLayer::new(
            Duration::from_secs(1),
            HttpMetrics::default(),
        ));
    axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await
}

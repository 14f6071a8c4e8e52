//! The data-availability HTTP API (served by the aggregator; any watcher may serve the same)
//! and its client.
//!
//! | route | what |
//! |---|---|
//! | `PUT /v1/rounds/{round}/updates/{client}` | a client uploads its update (wire format, [`crate::wire`]); hashed as it arrives and accepted only if it opens the client's on-chain commitment |
//! | `GET /v1/rounds/{round}/updates/{client}` | the update's wire bytes, for anyone to check against the on-chain root |
//! | `GET /v1/rounds/{round}` | the clients whose updates are held, with their roots (JSON) |
//! | `GET /healthz` | liveness |
//! | `GET /metrics` | Prometheus metrics |
//!
//! Refusals carry a JSON body `{"error": reason, "message": ...}` naming the round, the
//! client and what is wrong; nothing is stored unless it matches.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::primitives::B256;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use contracts::{Chain, Deployment};
use futures::StreamExt as _;
use step_vm::{Digest, Update, hex_digest};
use tracing::{info, warn};

use crate::wire::UpdateDigest;
use crate::{DaemonError, Metrics, Result, Store};

/// What the server needs: the chain (commitments), the store, the metrics.
#[derive(Debug)]
pub struct DaService<C> {
    deployment: Deployment<C>,
    store: Arc<Store>,
    metrics: Metrics,
}

/// A refused request: status, a short machine-readable reason, and the message.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.reason, "message": self.message })),
        )
            .into_response()
    }
}

fn refuse(status: StatusCode, reason: &'static str, message: String) -> Refusal {
    Refusal {
        status,
        reason,
        message,
    }
}

impl<C: Chain + 'static> DaService<C> {
    /// A service over `deployment`, keeping accepted uploads in `store`.
    #[must_use]
    pub fn new(deployment: Deployment<C>, store: Arc<Store>, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            deployment,
            store,
            metrics,
        })
    }

    /// The routes.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/v1/rounds/{round}/updates/{client}",
                get(get_update::<C>).put(put_update::<C>),
            )
            .route("/v1/rounds/{round}", get(get_round::<C>))
            .route("/healthz", get(|| async { "ok" }))
            .route("/metrics", get(get_metrics::<C>))
            .with_state(Arc::clone(self))
    }

    /// The committed root and the dimension an upload of `client` in `round` must match.
    async fn expected(&self, round: u64, client: u32) -> Result<(Digest, usize), Refusal> {
        let unavailable = |e: contracts::ChainError| {
            warn!(round, client, error = %e, "cannot read the commitment");
            self.metrics.rpc_errors.inc();
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                format!("cannot read round {round} from the chain right now: {e}; retry"),
            )
        };
        let view = self.deployment.round(round).await.map_err(unavailable)?;
        if view.status == 0 {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "unknown_round",
                format!("round {round} does not exist"),
            ));
        }
        if client >= view.clientCount {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "unknown_client",
                format!(
                    "round {round} has {} clients; there is no client {client}",
                    view.clientCount
                ),
            ));
        }
        let (root, _) = self
            .deployment
            .commitment(round, client)
            .await
            .map_err(unavailable)?;
        if root == B256::ZERO {
            return Err(refuse(
                StatusCode::CONFLICT,
                "not_committed",
                format!(
                    "client {client} has not committed an update in round {round}; commit on chain first, then upload"
                ),
            ));
        }
        Ok((root.0, view.dim as usize))
    }

    async fn accept(&self, round: u64, client: u32, body: Body) -> Result<Response, Refusal> {
        let (root, dim) = self.expected(round, client).await?;
        let what = format!("upload of client {client} in round {round}");
        let mut digest = UpdateDigest::new(dim);
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "body_error",
                    format!("{what}: the body could not be read: {e}"),
                )
            })?;
            digest
                .update(&chunk, &what)
                .map_err(|e| refuse(StatusCode::PAYLOAD_TOO_LARGE, "oversized", e.to_string()))?;
        }
        let bytes = digest.received();
        let (bytes_in, actual) = digest
            .finish(&what)
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, "truncated", e.to_string()))?;
        if actual != root {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "root_mismatch",
                format!(
                    "{what}: the values hash to {}, but the client committed {}",
                    hex_digest(&actual),
                    hex_digest(&root)
                ),
            ));
        }
        let store = Arc::clone(&self.store);
        let new = tokio::task::spawn_blocking(move || {
            store.put_update_bytes(round, client, &root, &bytes_in, "upload")
        })
        .await
        .map_err(|e| {
            internal(DaemonError::Wire {
                what: what.clone(),
                message: format!("storing task failed: {e}"),
            })
        })?
        .map_err(internal)?;
        if !new {
            return Ok((StatusCode::OK, "already held\n").into_response());
        }
        self.metrics.uploads_accepted.inc();
        self.metrics.upload_bytes.inc_by(bytes as u64);
        info!(
            round,
            client,
            bytes,
            root = hex_digest(&root),
            "upload accepted"
        );
        Ok((StatusCode::CREATED, "accepted\n").into_response())
    }
}

fn internal(e: DaemonError) -> Refusal {
    warn!(error = %e, "internal error serving a request");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

async fn put_update<C: Chain + 'static>(
    State(s): State<Arc<DaService<C>>>,
    Path((round, client)): Path<(u64, u32)>,
    body: Body,
) -> Response {
    match s.accept(round, client, body).await {
        Ok(r) => r,
        Err(refusal) => {
            s.metrics
                .uploads_refused
                .get_or_create(&Metrics::label("reason", refusal.reason))
                .inc();
            warn!(round, client, reason = refusal.reason, message = %refusal.message, "upload refused");
            refusal.into_response()
        }
    }
}

async fn get_update<C: Chain + 'static>(
    State(s): State<Arc<DaService<C>>>,
    Path((round, client)): Path<(u64, u32)>,
) -> Response {
    match s.store.update(round, client) {
        Ok(Some((update, _))) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            crate::wire::encode(&update),
        )
            .into_response(),
        Ok(None) => refuse(
            StatusCode::NOT_FOUND,
            "not_held",
            format!("no update of client {client} in round {round} is held here"),
        )
        .into_response(),
        Err(e) => internal(e).into_response(),
    }
}

async fn get_round<C: Chain + 'static>(
    State(s): State<Arc<DaService<C>>>,
    Path(round): Path<u64>,
) -> Response {
    match s.store.held(round) {
        Ok(held) => axum::Json(serde_json::json!({
            "round": round,
            "updates": held.iter().map(|(c, r)| serde_json::json!({"client": c, "root": hex_digest(r)})).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => internal(e).into_response(),
    }
}

async fn get_metrics<C: Chain + 'static>(State(s): State<Arc<DaService<C>>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

/// A router serving only `GET /metrics` and `GET /healthz`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        m.render(),
                    )
                }
            }),
        )
}

/// Serves `router` on `listen` until `shutdown` resolves; returns the bound address (port 0
/// picks a free port) and the server task.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    router: Router,
    listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DaemonError::Io {
            path: format!("listening on {listen}"),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| DaemonError::Io {
        path: format!("listening on {listen}"),
        source,
    })?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            warn!(error = %e, "HTTP server stopped");
        }
    });
    Ok((bound, task))
}

/// A client of data-availability servers.
#[derive(Debug, Clone)]
pub struct DaClient {
    http: reqwest::Client,
}

impl Default for DaClient {
    fn default() -> Self {
        Self::new()
    }
}

impl DaClient {
    /// A client with a request timeout.
    #[must_use]
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Uploads `update` of `client` in `round` to the server at `base`.
    ///
    /// # Errors
    /// [`DaemonError::Http`] with the server's refusal (status and message) or the transport
    /// error.
    pub async fn upload(&self, base: &str, round: u64, client: u32, update: &Update) -> Result<()> {
        let url = update_url(base, round, client);
        let resp = self
            .http
            .put(&url)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(crate::wire::encode(update))
            .send()
            .await
            .map_err(|e| http_err(&url, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.text().await.unwrap_or_default();
        Err(DaemonError::Http {
            url,
            message: format!("refused with {status}: {body}"),
        })
    }

    /// The update of `client` in `round` from the server at `base`, if it holds one that opens
    /// `root` (an update that does not is refused, with a warning: servers are not trusted).
    ///
    /// # Errors
    /// [`DaemonError::Http`] for transport errors and unexpected statuses (not for 404).
    pub async fn fetch(
        &self,
        base: &str,
        round: u64,
        client: u32,
        root: &Digest,
        dim: usize,
    ) -> Result<Option<Update>> {
        let url = update_url(base, round, client);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| http_err(&url, &e))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(DaemonError::Http {
                url,
                message: format!("answered {}", resp.status()),
            });
        }
        let mut digest = UpdateDigest::new(dim);
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| http_err(&url, &e))?;
            if let Err(e) = digest.update(&chunk, &url) {
                warn!(%e, "data-availability server sent too many bytes; ignored");
                return Ok(None);
            }
        }
        match digest.finish(&url) {
            Ok((bytes, actual)) if actual == *root => {
                Ok(Some(crate::wire::decode(&bytes, dim, &url)?))
            }
            Ok((_, actual)) => {
                warn!(
                    url,
                    served = hex_digest(&actual),
                    committed = hex_digest(root),
                    "served update does not open the committed root; ignored"
                );
                Ok(None)
            }
            Err(e) => {
                warn!(%e, "served update malformed; ignored");
                Ok(None)
            }
        }
    }
}

fn update_url(base: &str, round: u64, client: u32) -> String {
    format!(
        "{}/v1/rounds/{round}/updates/{client}",
        base.trim_end_matches('/')
    )
}

fn http_err(url: &str, e: &reqwest::Error) -> DaemonError {
    // reqwest's message is generic ("error sending request"); the cause is in its sources.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DaemonError::Http {
        url: url.to_owned(),
        message,
    }
}

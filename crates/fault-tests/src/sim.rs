//! The `winleadplus-sim` process's admin API (`/admin/...`, loopback only): what the tests
//! and the soak change (generated data, mutations, faults, the body shape) and what the
//! checker reads (every prospect as served).

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use winleadplus_sim::{Fault, Shape, Stats};

/// A client of one simulator's admin API.
#[derive(Debug, Clone)]
pub struct SimAdmin {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>`.
    base: String,
}

impl SimAdmin {
    /// The admin API of the simulator at `base` (`http://host:port`).
    pub fn new(base: String) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .context("cannot build an HTTP client")?,
            base,
        })
    }

    /// `GET /api/prospects`'s URL, what a config points at.
    pub fn prospects_url(&self) -> String {
        format!("{}/api/prospects", self.base)
    }

    /// Replaces the data with `count` generated prospects (prospect `i` depends only on
    /// (seed, i): a larger count with the same seed adds prospects and keeps the others).
    pub async fn generate(&self, count: usize, seed: u64) -> anyhow::Result<()> {
        self.post("/admin/generate", &json!({ "count": count, "seed": seed }))
            .await
            .map(drop)
    }

    /// Changes a share of the prospects; returns the ids changed.
    pub async fn mutate(&self, fraction: f64, seed: u64) -> anyhow::Result<Vec<i64>> {
        let answer = self
            .post(
                "/admin/mutate",
                &json!({ "fraction": fraction, "seed": seed }),
            )
            .await?;
        serde_json::from_value(answer.get("changed").cloned().unwrap_or(Value::Null))
            .context("a mutate answer without `changed`")
    }

    /// Adds prospects, or replaces them by `idProspect`.
    pub async fn upsert(&self, prospects: &[Value]) -> anyhow::Result<()> {
        self.post("/admin/prospects", &Value::Array(prospects.to_vec()))
            .await
            .map(drop)
    }

    /// Queues faults for the next requests of `/api/prospects`, in order.
    pub async fn push_faults(&self, faults: &[Fault]) -> anyhow::Result<()> {
        self.post("/admin/faults", &serde_json::to_value(faults)?)
            .await
            .map(drop)
    }

    /// Drops the pending faults.
    pub async fn clear_faults(&self) -> anyhow::Result<()> {
        self.http
            .delete(format!("{}/admin/faults", self.base))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Sets the body shape (e.g. paginated, for many requests per sync).
    pub async fn set_shape(&self, shape: Shape) -> anyhow::Result<()> {
        self.http
            .put(format!("{}/admin/shape", self.base))
            .json(&shape)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Every prospect, as served.
    pub async fn prospects(&self) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .http
            .get(format!("{}/admin/prospects", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// The request statistics of `/api/prospects`.
    pub async fn stats(&self) -> anyhow::Result<Stats> {
        Ok(self
            .http
            .get(format!("{}/admin/stats", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            anyhow::bail!("POST {path}: {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("POST {path}: not JSON"))
    }
}

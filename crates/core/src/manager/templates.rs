//! The template catalogue.
use super::*;

impl Manager {
    /// Watches the template folders, then scans them (in that order, so no change is missed),
    /// and keeps the catalogue current until shutdown.
    pub(super) async fn start_catalogue(&self) -> Result<()> {
        let cat = self.inner.catalogue.clone();
        let watcher = blocking(move || {
            let watcher = crate::catalogue::Watcher::start(cat.clone());
            cat.rescan_all();
            Ok(watcher)
        })
        .await?;
        match watcher {
            Ok(w) => {
                let m = self.clone();
                tokio::spawn(w.run(
                    self.inner.cfg.templates.debounce,
                    self.inner.shutdown.subscribe(),
                    move |names| {
                        let m = m.clone();
                        async move { m.templates_changed(names).await }
                    },
                ));
            }
            Err(e) => tracing::warn!(
                error = %e,
                "template folders are not watched; template changes show after a restart"
            ),
        }
        Ok(())
    }

    /// Publishes that these templates changed, so clients list them again.
    pub(super) async fn templates_changed(&self, names: Vec<String>) {
        tracing::info!(templates = ?names, "template catalogue changed");
        let changed = Write::Event {
            time_us: self.now_us(),
            body: EventBody::TemplatesChanged { names },
        };
        if let Err(e) = self.record(vec![changed]).await {
            tracing::error!(error = %e, "cannot record a template catalogue change");
        }
    }

    /// Every template in the catalogue, by name (broken ones too, with their errors).
    pub fn list_templates(&self) -> Vec<Template> {
        self.inner.catalogue.list()
    }

    /// The template folders, in search order: task processes may read them.
    pub fn template_dirs(&self) -> &[std::path::PathBuf] {
        self.inner.catalogue.dirs()
    }
}

//! A proposed plan's preview: per step, the agents that could run it and their scores, the
//! folder it touches, what it may ask the person first, and what keeps it from running.
use super::super::*;
use super::{absolute_folder, expand_home, facts, folder_use};
use crate::model::FolderUse;
use crate::plan::{self, Plan};
use crate::router::OPEN;

impl Manager {
    /// Fills in each step's preview from the registry, the rules and the folders as they are:
    /// the candidates and their scores, what it touches, what it may ask, and what keeps it from
    /// running.
    pub(super) fn preview(&self, st: &State, p: &mut Plan) {
        let (root, _) = self.root_of(st);
        let weights = self.weights();
        let makers: Vec<(u32, Option<String>)> = p
            .steps
            .iter()
            .map(|s| (s.number(), s.step.workspace.clone()))
            .collect();
        for s in &mut p.steps {
            s.problem = None;
            s.asks.clear();
            s.candidates = if s.step.task_type == OPEN {
                Vec::new()
            } else {
                plan::rank(&facts(st, &s.step.task_type), weights)
            };
            let schema = st.schemas.get(&s.step.task_type);
            if s.step.task_type != OPEN {
                if s.candidates.is_empty() {
                    s.problem = Some(format!("no agent offers `{}` any more", s.step.task_type));
                } else if let Some(c) = schema {
                    let mut payload = s.step.payload.clone();
                    // The folder it takes in its payload is put there when the step starts.
                    if let (Some(prop), Some(w)) = (&c.folder_property, &s.step.workspace) {
                        let f = plan::reference(w)
                            .map_or_else(|| absolute_folder(&root, w), |_| "/".to_string());
                        payload.entry(prop.clone()).or_insert(f.into());
                    }
                    let payload = serde_json::Value::Object(payload);
                    if let Err(e) = c.validate(&s.step.task_type, &payload) {
                        s.problem = Some(e.to_string());
                    }
                }
            }
            let earlier = makers.iter().any(|(n, w)| {
                *n < s.number() && w.is_some() && w.as_deref() == s.step.workspace.as_deref()
            });
            let use_ = folder_use(st, &s.step.task_type);
            let handed = schema.and_then(|c| c.folder_property.as_ref());
            let (touches, problem) = match (handed, s.step.workspace.as_deref()) {
                (Some(_), Some(w)) => handed_folder(&root, w, earlier),
                _ => touches(&root, s.step.workspace.as_deref(), earlier, use_),
            };
            s.touches = touches;
            if s.problem.is_none() {
                s.problem = problem;
            }
            if s.step.task_type == OPEN {
                if s.step.workspace.is_none() {
                    s.problem = Some(
                        "which folder should open? name one (e.g. `shop`), or put this step after one that makes it".into(),
                    );
                }
                s.asks
                    .push("nothing: it opens the folder in your editor".into());
                continue;
            }
            if s.touches.contains("holds files") {
                s.asks
                    .push("to overwrite or delete any file already in the folder".into());
            }
            let allowed = s
                .candidates
                .first()
                .map(|c| policy::grants(&st.rules, &[], &c.agent_id))
                .unwrap_or_default();
            let mut beyond = "anything outside its folder (other files, the network)".to_string();
            if !allowed.connect.is_empty() || !allowed.read.is_empty() || !allowed.write.is_empty()
            {
                let mut by_rule: Vec<String> = allowed
                    .connect
                    .iter()
                    .map(|(h, p)| format!("connect {h}:{p}"))
                    .chain(allowed.read.iter().map(|p| format!("read {}", p.display())))
                    .chain(
                        allowed
                            .write
                            .iter()
                            .map(|p| format!("write {}", p.display())),
                    )
                    .collect();
                by_rule.sort();
                beyond.push_str(&format!(
                    ", except what your rules already allow its agent: {}",
                    by_rule.join(", ")
                ));
            }
            s.asks.push(beyond);
        }
    }
}

/// What a step touches whose task type takes its folder in its payload: that folder, reached
/// with the person's consent (it asks), from a folder of its own.
fn handed_folder(root: &Path, workspace: &str, made_earlier: bool) -> (String, Option<String>) {
    let own = format!("a folder of its own under {}", root.display());
    if let Some(n) = plan::reference(workspace) {
        return (format!("the folder step {n} works in, from {own}"), None);
    }
    let path = absolute_folder(root, workspace);
    let shown = format!("{path} (reached by asking you, unless a rule allows it), from {own}");
    if made_earlier || Path::new(&path).is_dir() {
        return (shown, None);
    }
    (
        shown,
        Some(format!(
            "{path} does not exist: name the folder of a project that is there"
        )),
    )
}

/// The folder a step works in, in words, and what keeps it from running there: a folder outside
/// the workspace root, and, for a task type that works on what is already there, no folder named,
/// or one that does not exist or is empty (unless an earlier step works there first).
fn touches(
    root: &Path,
    workspace: Option<&str>,
    made_earlier: bool,
    use_: FolderUse,
) -> (String, Option<String>) {
    let Some(w) = workspace else {
        let problem = (use_ == FolderUse::Existing).then(|| {
            "it works on a project that is already there: name its folder (e.g. `shop`)".to_string()
        });
        return (
            format!("a new, empty folder of its own under {}", root.display()),
            problem,
        );
    };
    if let Some(n) = plan::reference(w) {
        return (format!("the folder step {n} works in"), None);
    }
    let expanded = expand_home(w);
    let path = match workspace::resolve(root, &expanded) {
        Ok(p) => p,
        Err(e) => {
            return (
                expanded.clone(),
                Some(format!(
                    "{e}; move the project beneath it, give the step another folder, or choose a workspace root that holds it (`hyperagent config workspace-root DIR`, or the app's Settings)"
                )),
            )
        }
    };
    let shown = path.display();
    let needs_content = use_ == FolderUse::Existing && !made_earlier;
    match std::fs::read_dir(&path) {
        Ok(mut entries) => match entries.next() {
            Some(_) => (format!("{shown} (exists and holds files)"), None),
            None => (
                format!("{shown} (exists, empty)"),
                needs_content.then(|| format!("{shown} is empty: there is nothing to work on")),
            ),
        },
        Err(_) if made_earlier => (format!("{shown} (an earlier step works there first)"), None),
        Err(_) => (
            format!("{shown} (does not exist yet: made for the step)"),
            needs_content.then(|| {
                format!("{shown} does not exist: name the folder of a project that is there")
            }),
        ),
    }
}

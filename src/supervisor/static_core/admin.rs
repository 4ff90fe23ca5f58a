//! The management calls of a static supervisor (SPEC 3.8).

use super::{Child, Slot, Started, StaticCore};
use crate::supervisor::{
    ChildCounts, ChildError, ChildInfo, ChildSpec, ChildStarted, ChildState, Restart,
};

impl StaticCore {
    pub(super) fn info(&self, c: &Child) -> ChildInfo {
        let state = match &c.slot {
            Slot::Running(r, _) => ChildState::Running(r.clone()),
            Slot::Restarting => ChildState::Restarting,
            Slot::NotRunning => ChildState::NotRunning,
        };
        ChildInfo {
            id: c.spec.id.clone(),
            state,
            kind: c.spec.kind,
        }
    }

    pub(super) async fn start_child(
        &mut self,
        spec: ChildSpec,
    ) -> Result<ChildStarted, ChildError> {
        spec.validate(&self.flags)?;
        if let Some(idx) = self.find(&spec.id) {
            return Err(match &self.children[idx].slot {
                Slot::Running(r, _) => ChildError::AlreadyStarted(spec.id, r.clone()),
                _ => ChildError::AlreadyPresent(spec.id),
            });
        }
        let temporary = spec.restart == Restart::Temporary;
        let idx = self.push(spec);
        match self.start_at(idx).await {
            Started::Running(child, info) => Ok(ChildStarted {
                child: Some(child),
                info,
            }),
            Started::Ignored => {
                if temporary {
                    self.remove(idx);
                }
                Ok(ChildStarted {
                    child: None,
                    info: None,
                })
            }
            Started::Failed(e) => {
                self.remove(idx);
                Err(ChildError::StartFailed(e))
            }
        }
    }

    pub(super) async fn terminate_child(&mut self, id: &str) -> Result<(), ChildError> {
        let idx = self.find(id).ok_or(ChildError::NotFound)?;
        self.stop_at(idx).await;
        self.set_slot(idx, Slot::NotRunning);
        if self.children[idx].spec.restart == Restart::Temporary {
            self.remove(idx);
        }
        Ok(())
    }

    pub(super) async fn restart_child(&mut self, id: &str) -> Result<ChildStarted, ChildError> {
        let idx = self.find(id).ok_or(ChildError::NotFound)?;
        match self.children[idx].slot {
            Slot::Running(..) => return Err(ChildError::Running),
            Slot::Restarting => return Err(ChildError::Restarting),
            Slot::NotRunning => {}
        }
        match self.start_at(idx).await {
            Started::Running(child, info) => Ok(ChildStarted {
                child: Some(child),
                info,
            }),
            Started::Ignored => Ok(ChildStarted {
                child: None,
                info: None,
            }),
            Started::Failed(e) => Err(ChildError::StartFailed(e)),
        }
    }

    pub(super) fn delete_child(&mut self, id: &str) -> Result<(), ChildError> {
        let idx = self.find(id).ok_or(ChildError::NotFound)?;
        match self.children[idx].slot {
            Slot::Running(..) => Err(ChildError::Running),
            Slot::Restarting => Err(ChildError::Restarting),
            Slot::NotRunning => {
                self.remove(idx);
                Ok(())
            }
        }
    }

    pub(super) fn counts(&self) -> ChildCounts {
        ChildCounts {
            specs: self.children.len(),
            active: self.active,
            supervisors: self.supervisors,
            workers: self.children.len() - self.supervisors,
        }
    }
}

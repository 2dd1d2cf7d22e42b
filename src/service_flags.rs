//! Flagged plots as users read them: live flags scoped to the caller's jurisdiction. Raising
//! flags is a stage of survey ingest (`service_surveys`); reviewing them is issue 5.

use crate::auth::Principal;
use crate::service::{Error, Result, Vigil};
use crate::store::flags::{self, FlagRow};

fn visible(who: &Principal, f: &FlagRow) -> bool {
    who.role.is_admin()
        || who.jurisdiction.national
        || who
            .jurisdiction
            .covers(f.province_code.as_deref(), f.commune_code.as_deref())
}

impl Vigil {
    /// Live flags meeting `bbox` (lon/lat) that `who` may see, oldest first.
    pub fn flags(&self, who: &Principal, bbox: Option<[f64; 4]>) -> Result<Vec<FlagRow>> {
        let rows = self.store().read(|c| flags::live(c, bbox))?;
        Ok(rows.into_iter().filter(|f| visible(who, f)).collect())
    }

    /// One flag (live or superseded), or 404 outside the caller's jurisdiction.
    pub fn flag(&self, who: &Principal, id: i64) -> Result<FlagRow> {
        self.store()
            .read(|c| flags::get(c, id))?
            .filter(|f| visible(who, f))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "flag {id} does not exist or is outside your jurisdiction"
                ))
            })
    }
}

//! Field photos that border guards attach as evidence to a review decision on a flagged plot: what
//! the file is (a whole JPEG, its size in pixels, its SHA-256), what its EXIF says about itself
//! (capture time, GPS position, camera), and the two checks a reviewer needs — was it taken at the
//! plot ([`check_location`]), and after the survey flight that found it ([`check_time`]).
//!
//! A photo is refused ([`PhotoError`]) only when it is not a whole JPEG within [`PhotoLimits`].
//! Everything that makes it weaker evidence — stripped EXIF, no GPS, taken far from the plot, a
//! clock in the future — is a [`PhotoWarning`] for the reviewer to weigh, because a photo without
//! GPS still shows the plot. No IO: callers pass bytes and a plot geometry and store what comes back.
//!
//! ```
//! use vigil::evidence::{PhotoLimits, inspect};
//! let err = inspect(b"%PDF-1.7", &PhotoLimits::default()).unwrap_err();
//! assert_eq!((err.code(), err.to_string().as_str()), ("not_an_image", "not an image: this is a PDF document"));
//! ```

mod error;
mod jpeg;
mod location;
mod metadata;
mod photo;
mod timing;

pub use error::PhotoError;
pub use location::{DEFAULT_MAX_DISTANCE_M, LocationCheck, check_location};
pub use photo::{Gps, PhotoInfo, PhotoLimits, PhotoWarning, inspect};
pub use timing::{CLOCK_TOLERANCE, TimeCheck, check_time};

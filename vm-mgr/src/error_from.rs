//! The errors of the modules below the verbs as an [`Error`]: each kept whole as the source of
//! [`Error::Below`], with the exit code it maps to. Here, above those modules, so that
//! [`crate::error`] stays a leaf that everything may use.

use shared::pacemaker::TransactionError;

use crate::cluster::budget::BudgetError;
use crate::error::{Error, EXIT_FAILED, EXIT_USAGE};
use crate::fragment::FragmentError;
use crate::guest_node::GuestNodeError;
use crate::placement::PlacementError;
use crate::storage::StorageError;

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        let code = if e.is_invalid_input() {
            EXIT_USAGE
        } else if matches!(e, StorageError::NotOnBackend { .. }) {
            crate::error::EXIT_UNIMPLEMENTED
        } else {
            EXIT_FAILED
        };
        Error::Below {
            code,
            source: Box::new(e),
        }
    }
}

impl From<TransactionError<FragmentError>> for Error {
    fn from(e: TransactionError<FragmentError>) -> Error {
        let code = match &e {
            TransactionError::Edit(f) => f.exit_code(),
            _ => EXIT_FAILED,
        };
        Error::Below {
            code,
            source: Box::new(e),
        }
    }
}

impl From<FragmentError> for Error {
    fn from(e: FragmentError) -> Error {
        Error::Below {
            code: e.exit_code(),
            source: Box::new(e),
        }
    }
}

impl From<BudgetError> for Error {
    /// An op timeout the CIB holds but nobody can read is invalid input: exit 2.
    fn from(e: BudgetError) -> Error {
        Error::Below {
            code: EXIT_USAGE,
            source: Box::new(e),
        }
    }
}

impl From<GuestNodeError> for Error {
    /// A guest node setting that cannot be: invalid input, exit 2.
    fn from(e: GuestNodeError) -> Error {
        Error::Below {
            code: EXIT_USAGE,
            source: Box::new(e),
        }
    }
}

impl From<PlacementError> for Error {
    fn from(e: PlacementError) -> Error {
        Error::Below {
            code: e.exit_code(),
            source: Box::new(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_errors_keep_their_exit_codes() {
        let e = Error::from(TransactionError::Edit(FragmentError::NotInCib {
            name: "a".into(),
        }));
        assert_eq!(e.exit_code(), 3);
        assert_eq!(Error::from(StorageError::Disabled).exit_code(), 2);
        let not_yet = StorageError::NotOnBackend { what: "snapshots" };
        assert_eq!(Error::from(not_yet).exit_code(), 6);
        let bad = StorageError::InvalidSetting {
            what: "pool",
            value: "a b".into(),
            reason: "it contains a space",
        };
        assert_eq!(Error::from(bad).exit_code(), 2);
        let blocked = PlacementError::Interrupted {
            name: "a".into(),
            cleanup: "none".into(),
        };
        assert_eq!(Error::from(blocked).exit_code(), 130);
    }
}

//! `descent pep`: argument parsing and the JSON answer.

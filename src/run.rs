//! `descent run`: (to be written)

//! Worst-case vectors from the Gram matrix, and a function that attains them.

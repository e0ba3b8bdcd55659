//! Resolves parsed arguments plus the environment into a Config. Pure.

//! rbond-config

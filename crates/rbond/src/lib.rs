pub mod sys;
pub mod lab;
pub mod cli;
pub mod ctl;
pub mod daemon;
pub mod ifup;
pub mod cleanup;
pub mod top;

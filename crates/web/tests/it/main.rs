//! The web pages in process, over plain HTTP requests: every page renders,
//! the search box finds each kind of name, bad input gets a page with a
//! clear message and a 4xx.

mod admin;
mod pages;
mod wallet;

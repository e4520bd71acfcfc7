use crate::model::RawEntry;
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleRules { pub title: Option<String>, pub content: Option<String>, pub date: Option<String>, pub author: Option<String>, pub source: Option<String>, pub remove: Vec<String> }
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ExtractError { #[error("no article content found")] NoContent }
pub fn extract_links(_h: &str, _p: &str, _i: &str, _m: usize) -> Result<Vec<String>, ExtractError> { Ok(vec![]) }
pub fn extract_article(_h: &str, _p: &str, _r: &ArticleRules) -> Result<RawEntry, ExtractError> { Err(ExtractError::NoContent) }

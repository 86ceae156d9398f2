use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Api;

pub fn routes(_cfg: &mut web::ServiceConfig) {}

// The interactive reference of the admin API, rendered by Swagger UI from the gateway's own /openapi.json.
// "Authorize" takes the ADMIN_TOKEN (or an admin JWT); "Try it out" then calls this gateway.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: false,
});

// Starts Swagger UI on the element #swagger-ui, for the OpenAPI document
// named by its data-spec-url attribute. It is served as a file so that the
// page's Content-Security-Policy can forbid inline scripts.
"use strict";
(function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    domNode: el,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    queryConfigEnabled: false,
  });
})();

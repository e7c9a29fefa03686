// The API documentation page: Swagger UI draws the OpenAPI document (no inline script: the CSP).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: true });
})();

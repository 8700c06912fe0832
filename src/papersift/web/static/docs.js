// Starts Swagger UI on /docs (a file, not an inline script: the site's CSP allows no inline
// script). Swagger UI itself is served by this server from the swagger-ui-bundle-v2 package.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();

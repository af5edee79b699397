// The demo's entry point: defining <demo-app> starts everything (index.html already contains it).
import './demo-app.ts';

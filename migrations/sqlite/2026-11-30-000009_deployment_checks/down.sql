DROP TABLE deployment_checks;

"""The district roll-up (汇总): one job compiles a year's figures per school and per
district into an Excel 汇总表, a PDF report with charts and the JSON the dashboard draws;
all three are rendered from one figures dict, so their numbers agree. Cached by a
fingerprint of the inputs."""

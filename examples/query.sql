INSERT INTO location_analytics_tbl
SELECT location AS user_location, COUNT(*) AS uploads
FROM photo_metadata_log GROUP BY location;

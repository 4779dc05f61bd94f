DROP TABLE call_pacers;
DROP TABLE campaign_tenants;
DROP TABLE campaigns;

BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('v3.2.0.a');
CREATE TABLE studies (
	study_id INTEGER NOT NULL, 
	study_name VARCHAR(512) NOT NULL, 
	PRIMARY KEY (study_id)
);
INSERT INTO "studies" VALUES(1,'old');
INSERT INTO "studies" VALUES(2,'old:final');
CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	study_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	PRIMARY KEY (study_direction_id), 
	UNIQUE (study_id, objective), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_directions" VALUES(1,'MAXIMIZE',1,0);
INSERT INTO "study_directions" VALUES(2,'MINIMIZE',1,1);
INSERT INTO "study_directions" VALUES(3,'MINIMIZE',1,2);
INSERT INTO "study_directions" VALUES(4,'MAXIMIZE',2,0);
INSERT INTO "study_directions" VALUES(5,'MINIMIZE',2,1);
INSERT INTO "study_directions" VALUES(6,'MINIMIZE',2,2);
CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_system_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_system_attributes" VALUES(1,1,'study:metric_names','["accuracy_after_1_epochs", "macs", "params"]');
INSERT INTO "study_system_attributes" VALUES(2,2,'study:metric_names','["test_accuracy", "macs", "params"]');
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_user_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	intermediate_value FLOAT, 
	intermediate_value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_intermediate_value_id), 
	UNIQUE (trial_id, step), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_params (
	param_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	param_name VARCHAR(512), 
	param_value FLOAT, 
	distribution_json TEXT, 
	PRIMARY KEY (param_id), 
	UNIQUE (trial_id, param_name), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_params" VALUES(1,1,'l2m0_0_1',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(2,1,'l2m0_0_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(3,1,'l2m0_1_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(4,1,'l2m0_0_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(5,1,'l2m0_1_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(6,1,'l2m0_2_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(7,1,'l2m1_0_1',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(8,1,'l2m1_0_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(9,1,'l2m1_1_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(10,1,'l2m1_0_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(11,1,'l2m1_1_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(12,1,'l2m1_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(13,1,'l2m2_0_1',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(14,1,'l2m2_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(15,1,'l2m2_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(16,1,'l2m2_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(17,1,'l2m2_1_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(18,1,'l2m2_2_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(19,1,'l2m3_0_1',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(20,1,'l2m3_0_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(21,1,'l2m3_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(22,1,'l2m3_0_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(23,1,'l2m3_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(24,1,'l2m3_2_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(25,1,'l2m4_0_1',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(26,1,'l2m4_0_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(27,1,'l2m4_1_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(28,1,'l2m4_0_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(29,1,'l2m4_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(30,1,'l2m4_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(31,1,'l2m5_0_1',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(32,1,'l2m5_0_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(33,1,'l2m5_1_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(34,1,'l2m5_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(35,1,'l2m5_1_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(36,1,'l2m5_2_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(37,1,'l3m0_0_1',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(38,1,'l3m0_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(39,1,'l3m0_1_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(40,1,'l3m0_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(41,1,'l3m0_1_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(42,1,'l3m0_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(43,1,'l3m0_0_4',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(44,1,'l3m0_1_4',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(45,1,'l3m0_2_4',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(46,1,'l3m0_3_4',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(47,2,'l2m0_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(48,2,'l2m0_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(49,2,'l2m0_1_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(50,2,'l2m0_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(51,2,'l2m0_1_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(52,2,'l2m0_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(53,2,'l2m1_0_1',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(54,2,'l2m1_0_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(55,2,'l2m1_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(56,2,'l2m1_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(57,2,'l2m1_1_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(58,2,'l2m1_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(59,2,'l2m2_0_1',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(60,2,'l2m2_0_2',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(61,2,'l2m2_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(62,2,'l2m2_0_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(63,2,'l2m2_1_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(64,2,'l2m2_2_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(65,2,'l2m3_0_1',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(66,2,'l2m3_0_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(67,2,'l2m3_1_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(68,2,'l2m3_0_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(69,2,'l2m3_1_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(70,2,'l2m3_2_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(71,2,'l2m4_0_1',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(72,2,'l2m4_0_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(73,2,'l2m4_1_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(74,2,'l2m4_0_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(75,2,'l2m4_1_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(76,2,'l2m4_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(77,2,'l2m5_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(78,2,'l2m5_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(79,2,'l2m5_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(80,2,'l2m5_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(81,2,'l2m5_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(82,2,'l2m5_2_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(83,2,'l3m0_0_1',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(84,2,'l3m0_0_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(85,2,'l3m0_1_2',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(86,2,'l3m0_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(87,2,'l3m0_1_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(88,2,'l3m0_2_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(89,2,'l3m0_0_4',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(90,2,'l3m0_1_4',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(91,2,'l3m0_2_4',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(92,2,'l3m0_3_4',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(93,3,'l2m0_0_1',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(94,3,'l2m0_0_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(95,3,'l2m0_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(96,3,'l2m0_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(97,3,'l2m0_1_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(98,3,'l2m0_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(99,3,'l2m1_0_1',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(100,3,'l2m1_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(101,3,'l2m1_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(102,3,'l2m1_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(103,3,'l2m1_1_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(104,3,'l2m1_2_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(105,3,'l2m2_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(106,3,'l2m2_0_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(107,3,'l2m2_1_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(108,3,'l2m2_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(109,3,'l2m2_1_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(110,3,'l2m2_2_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(111,3,'l2m3_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(112,3,'l2m3_0_2',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(113,3,'l2m3_1_2',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(114,3,'l2m3_0_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(115,3,'l2m3_1_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(116,3,'l2m3_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(117,3,'l2m4_0_1',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(118,3,'l2m4_0_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(119,3,'l2m4_1_2',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(120,3,'l2m4_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(121,3,'l2m4_1_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(122,3,'l2m4_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(123,3,'l2m5_0_1',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(124,3,'l2m5_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(125,3,'l2m5_1_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(126,3,'l2m5_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(127,3,'l2m5_1_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(128,3,'l2m5_2_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(129,3,'l3m0_0_1',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(130,3,'l3m0_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(131,3,'l3m0_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(132,3,'l3m0_0_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(133,3,'l3m0_1_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(134,3,'l3m0_2_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(135,3,'l3m0_0_4',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(136,3,'l3m0_1_4',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(137,3,'l3m0_2_4',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(138,3,'l3m0_3_4',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(139,4,'l2m0_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(140,4,'l2m0_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(141,4,'l2m0_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(142,4,'l2m0_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(143,4,'l2m0_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(144,4,'l2m0_2_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(145,4,'l2m1_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(146,4,'l2m1_0_2',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(147,4,'l2m1_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(148,4,'l2m1_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(149,4,'l2m1_1_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(150,4,'l2m1_2_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(151,4,'l2m2_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(152,4,'l2m2_0_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(153,4,'l2m2_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(154,4,'l2m2_0_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(155,4,'l2m2_1_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(156,4,'l2m2_2_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(157,4,'l2m3_0_1',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(158,4,'l2m3_0_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(159,4,'l2m3_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(160,4,'l2m3_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(161,4,'l2m3_1_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(162,4,'l2m3_2_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(163,4,'l2m4_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(164,4,'l2m4_0_2',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(165,4,'l2m4_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(166,4,'l2m4_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(167,4,'l2m4_1_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(168,4,'l2m4_2_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(169,4,'l2m5_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(170,4,'l2m5_0_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(171,4,'l2m5_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(172,4,'l2m5_0_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(173,4,'l2m5_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(174,4,'l2m5_2_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(175,4,'l3m0_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(176,4,'l3m0_0_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(177,4,'l3m0_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(178,4,'l3m0_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(179,4,'l3m0_1_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(180,4,'l3m0_2_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(181,4,'l3m0_0_4',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(182,4,'l3m0_1_4',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(183,4,'l3m0_2_4',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(184,4,'l3m0_3_4',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(185,5,'l2m0_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(186,5,'l2m0_0_2',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(187,5,'l2m0_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(188,5,'l2m0_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(189,5,'l2m0_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(190,5,'l2m0_2_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(191,5,'l2m1_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(192,5,'l2m1_0_2',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(193,5,'l2m1_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(194,5,'l2m1_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(195,5,'l2m1_1_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(196,5,'l2m1_2_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(197,5,'l2m2_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(198,5,'l2m2_0_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(199,5,'l2m2_1_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(200,5,'l2m2_0_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(201,5,'l2m2_1_3',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(202,5,'l2m2_2_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(203,5,'l2m3_0_1',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(204,5,'l2m3_0_2',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(205,5,'l2m3_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(206,5,'l2m3_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(207,5,'l2m3_1_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(208,5,'l2m3_2_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(209,5,'l2m4_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(210,5,'l2m4_0_2',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(211,5,'l2m4_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(212,5,'l2m4_0_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(213,5,'l2m4_1_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(214,5,'l2m4_2_3',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(215,5,'l2m5_0_1',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(216,5,'l2m5_0_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(217,5,'l2m5_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(218,5,'l2m5_0_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(219,5,'l2m5_1_3',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(220,5,'l2m5_2_3',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity"]}}');
INSERT INTO "trial_params" VALUES(221,5,'l3m0_0_1',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(222,5,'l3m0_0_2',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(223,5,'l3m0_1_2',6.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(224,5,'l3m0_0_3',2.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(225,5,'l3m0_1_3',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(226,5,'l3m0_2_3',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(227,5,'l3m0_0_4',4.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(228,5,'l3m0_1_4',1.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(229,5,'l3m0_2_4',5.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
INSERT INTO "trial_params" VALUES(230,5,'l3m0_3_4',3.0,'{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "m0", "m1", "m2", "m3", "m4", "m5"]}}');
CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_system_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_user_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_user_attributes" VALUES(1,1,'macs','87136');
INSERT INTO "trial_user_attributes" VALUES(2,1,'params','14562');
INSERT INTO "trial_user_attributes" VALUES(3,1,'phase','"evolution"');
INSERT INTO "trial_user_attributes" VALUES(4,1,'key','"evolution/0"');
INSERT INTO "trial_user_attributes" VALUES(5,1,'arch_json','"{\"l2m0_0_1\": \"sepconv3x3\", \"l2m0_0_2\": \"conv1x1\", \"l2m0_1_2\": \"conv1x1\", \"l2m0_0_3\": \"conv1x1\", \"l2m0_1_3\": \"none\", \"l2m0_2_3\": \"dwconv3x3\", \"l2m1_0_1\": \"conv1x1\", \"l2m1_0_2\": \"identity\", \"l2m1_1_2\": \"sepconv3x3\", \"l2m1_0_3\": \"sepconv3x3\", \"l2m1_1_3\": \"identity\", \"l2m1_2_3\": \"identity\", \"l2m2_0_1\": \"dwconv3x3\", \"l2m2_0_2\": \"sepconv3x3\", \"l2m2_1_2\": \"dwconv3x3\", \"l2m2_0_3\": \"none\", \"l2m2_1_3\": \"sepconv3x3\", \"l2m2_2_3\": \"dwconv3x3\", \"l2m3_0_1\": \"dwconv3x3\", \"l2m3_0_2\": \"none\", \"l2m3_1_2\": \"identity\", \"l2m3_0_3\": \"avgpool3x3\", \"l2m3_1_3\": \"avgpool3x3\", \"l2m3_2_3\": \"sepconv3x3\", \"l2m4_0_1\": \"sepconv3x3\", \"l2m4_0_2\": \"dwconv3x3\", \"l2m4_1_2\": \"sepconv3x3\", \"l2m4_0_3\": \"conv1x1\", \"l2m4_1_3\": \"avgpool3x3\", \"l2m4_2_3\": \"identity\", \"l2m5_0_1\": \"sepconv3x3\", \"l2m5_0_2\": \"identity\", \"l2m5_1_2\": \"conv1x1\", \"l2m5_0_3\": \"dwconv3x3\", \"l2m5_1_3\": \"identity\", \"l2m5_2_3\": \"conv1x1\", \"l3m0_0_1\": \"m1\", \"l3m0_0_2\": \"m2\", \"l3m0_1_2\": \"m2\", \"l3m0_0_3\": \"m1\", \"l3m0_1_3\": \"m5\", \"l3m0_2_3\": \"m5\", \"l3m0_0_4\": \"none\", \"l3m0_1_4\": \"m3\", \"l3m0_2_4\": \"m5\", \"l3m0_3_4\": \"m5\"}"');
INSERT INTO "trial_user_attributes" VALUES(6,1,'origin','"init"');
INSERT INTO "trial_user_attributes" VALUES(7,1,'parent','-1');
INSERT INTO "trial_user_attributes" VALUES(8,1,'seconds','5.568097961000603');
INSERT INTO "trial_user_attributes" VALUES(9,2,'macs','33392');
INSERT INTO "trial_user_attributes" VALUES(10,2,'params','5890');
INSERT INTO "trial_user_attributes" VALUES(11,2,'phase','"evolution"');
INSERT INTO "trial_user_attributes" VALUES(12,2,'key','"evolution/1"');
INSERT INTO "trial_user_attributes" VALUES(13,2,'arch_json','"{\"l2m0_0_1\": \"none\", \"l2m0_0_2\": \"sepconv3x3\", \"l2m0_1_2\": \"sepconv3x3\", \"l2m0_0_3\": \"none\", \"l2m0_1_3\": \"dwconv3x3\", \"l2m0_2_3\": \"identity\", \"l2m1_0_1\": \"sepconv3x3\", \"l2m1_0_2\": \"conv1x1\", \"l2m1_1_2\": \"dwconv3x3\", \"l2m1_0_3\": \"none\", \"l2m1_1_3\": \"maxpool3x3\", \"l2m1_2_3\": \"identity\", \"l2m2_0_1\": \"conv1x1\", \"l2m2_0_2\": \"maxpool3x3\", \"l2m2_1_2\": \"identity\", \"l2m2_0_3\": \"identity\", \"l2m2_1_3\": \"sepconv3x3\", \"l2m2_2_3\": \"sepconv3x3\", \"l2m3_0_1\": \"sepconv3x3\", \"l2m3_0_2\": \"dwconv3x3\", \"l2m3_1_2\": \"conv1x1\", \"l2m3_0_3\": \"conv1x1\", \"l2m3_1_3\": \"sepconv3x3\", \"l2m3_2_3\": \"avgpool3x3\", \"l2m4_0_1\": \"maxpool3x3\", \"l2m4_0_2\": \"none\", \"l2m4_1_2\": \"conv1x1\", \"l2m4_0_3\": \"conv1x1\", \"l2m4_1_3\": \"maxpool3x3\", \"l2m4_2_3\": \"identity\", \"l2m5_0_1\": \"identity\", \"l2m5_0_2\": \"sepconv3x3\", \"l2m5_1_2\": \"dwconv3x3\", \"l2m5_0_3\": \"dwconv3x3\", \"l2m5_1_3\": \"avgpool3x3\", \"l2m5_2_3\": \"conv1x1\", \"l3m0_0_1\": \"m4\", \"l3m0_0_2\": \"m5\", \"l3m0_1_2\": \"m4\", \"l3m0_0_3\": \"none\", \"l3m0_1_3\": \"m1\", \"l3m0_2_3\": \"m0\", \"l3m0_0_4\": \"m1\", \"l3m0_1_4\": \"m0\", \"l3m0_2_4\": \"m3\", \"l3m0_3_4\": \"none\"}"');
INSERT INTO "trial_user_attributes" VALUES(14,2,'origin','"init"');
INSERT INTO "trial_user_attributes" VALUES(15,2,'parent','-1');
INSERT INTO "trial_user_attributes" VALUES(16,2,'seconds','0.28463334800107987');
INSERT INTO "trial_user_attributes" VALUES(17,3,'macs','33376');
INSERT INTO "trial_user_attributes" VALUES(18,3,'params','6054');
INSERT INTO "trial_user_attributes" VALUES(19,3,'phase','"evolution"');
INSERT INTO "trial_user_attributes" VALUES(20,3,'key','"evolution/2"');
INSERT INTO "trial_user_attributes" VALUES(21,3,'arch_json','"{\"l2m0_0_1\": \"sepconv3x3\", \"l2m0_0_2\": \"none\", \"l2m0_1_2\": \"identity\", \"l2m0_0_3\": \"dwconv3x3\", \"l2m0_1_3\": \"none\", \"l2m0_2_3\": \"identity\", \"l2m1_0_1\": \"conv1x1\", \"l2m1_0_2\": \"sepconv3x3\", \"l2m1_1_2\": \"dwconv3x3\", \"l2m1_0_3\": \"none\", \"l2m1_1_3\": \"none\", \"l2m1_2_3\": \"conv1x1\", \"l2m2_0_1\": \"none\", \"l2m2_0_2\": \"identity\", \"l2m2_1_2\": \"none\", \"l2m2_0_3\": \"dwconv3x3\", \"l2m2_1_3\": \"dwconv3x3\", \"l2m2_2_3\": \"maxpool3x3\", \"l2m3_0_1\": \"none\", \"l2m3_0_2\": \"maxpool3x3\", \"l2m3_1_2\": \"conv1x1\", \"l2m3_0_3\": \"maxpool3x3\", \"l2m3_1_3\": \"identity\", \"l2m3_2_3\": \"identity\", \"l2m4_0_1\": \"conv1x1\", \"l2m4_0_2\": \"none\", \"l2m4_1_2\": \"maxpool3x3\", \"l2m4_0_3\": \"none\", \"l2m4_1_3\": \"none\", \"l2m4_2_3\": \"identity\", \"l2m5_0_1\": \"dwconv3x3\", \"l2m5_0_2\": \"sepconv3x3\", \"l2m5_1_2\": \"none\", \"l2m5_0_3\": \"none\", \"l2m5_1_3\": \"none\", \"l2m5_2_3\": \"identity\", \"l3m0_0_1\": \"m0\", \"l3m0_0_2\": \"m2\", \"l3m0_1_2\": \"m1\", \"l3m0_0_3\": \"m5\", \"l3m0_1_3\": \"m1\", \"l3m0_2_3\": \"none\", \"l3m0_0_4\": \"m1\", \"l3m0_1_4\": \"none\", \"l3m0_2_4\": \"m4\", \"l3m0_3_4\": \"m1\"}"');
INSERT INTO "trial_user_attributes" VALUES(22,3,'origin','"init"');
INSERT INTO "trial_user_attributes" VALUES(23,3,'parent','-1');
INSERT INTO "trial_user_attributes" VALUES(24,3,'seconds','0.31170968800142873');
INSERT INTO "trial_user_attributes" VALUES(25,4,'macs','78992');
INSERT INTO "trial_user_attributes" VALUES(26,4,'params','13366');
INSERT INTO "trial_user_attributes" VALUES(27,4,'phase','"evolution"');
INSERT INTO "trial_user_attributes" VALUES(28,4,'key','"evolution/3"');
INSERT INTO "trial_user_attributes" VALUES(29,4,'arch_json','"{\"l2m0_0_1\": \"none\", \"l2m0_0_2\": \"sepconv3x3\", \"l2m0_1_2\": \"identity\", \"l2m0_0_3\": \"dwconv3x3\", \"l2m0_1_3\": \"avgpool3x3\", \"l2m0_2_3\": \"avgpool3x3\", \"l2m1_0_1\": \"none\", \"l2m1_0_2\": \"maxpool3x3\", \"l2m1_1_2\": \"identity\", \"l2m1_0_3\": \"none\", \"l2m1_1_3\": \"maxpool3x3\", \"l2m1_2_3\": \"sepconv3x3\", \"l2m2_0_1\": \"identity\", \"l2m2_0_2\": \"dwconv3x3\", \"l2m2_1_2\": \"dwconv3x3\", \"l2m2_0_3\": \"conv1x1\", \"l2m2_1_3\": \"identity\", \"l2m2_2_3\": \"dwconv3x3\", \"l2m3_0_1\": \"avgpool3x3\", \"l2m3_0_2\": \"none\", \"l2m3_1_2\": \"identity\", \"l2m3_0_3\": \"none\", \"l2m3_1_3\": \"conv1x1\", \"l2m3_2_3\": \"avgpool3x3\", \"l2m4_0_1\": \"identity\", \"l2m4_0_2\": \"avgpool3x3\", \"l2m4_1_2\": \"identity\", \"l2m4_0_3\": \"none\", \"l2m4_1_3\": \"conv1x1\", \"l2m4_2_3\": \"maxpool3x3\", \"l2m5_0_1\": \"none\", \"l2m5_0_2\": \"identity\", \"l2m5_1_2\": \"identity\", \"l2m5_0_3\": \"avgpool3x3\", \"l2m5_1_3\": \"avgpool3x3\", \"l2m5_2_3\": \"none\", \"l3m0_0_1\": \"m5\", \"l3m0_0_2\": \"m1\", \"l3m0_1_2\": \"m5\", \"l3m0_0_3\": \"m1\", \"l3m0_1_3\": \"m2\", \"l3m0_2_3\": \"m0\", \"l3m0_0_4\": \"m3\", \"l3m0_1_4\": \"m0\", \"l3m0_2_4\": \"m4\", \"l3m0_3_4\": \"m2\"}"');
INSERT INTO "trial_user_attributes" VALUES(30,4,'origin','"random"');
INSERT INTO "trial_user_attributes" VALUES(31,4,'parent','-1');
INSERT INTO "trial_user_attributes" VALUES(32,4,'seconds','0.3328406430009636');
INSERT INTO "trial_user_attributes" VALUES(33,5,'seed','0');
INSERT INTO "trial_user_attributes" VALUES(35,5,'recipe','{"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 4e-05, "schedule": "cosine", "warmup_epochs": 0.0, "lr_min": 0.0, "exponential_gamma": 0.963, "step_epochs": 30, "step_gamma": 0.1, "label_smoothing": 0.0, "ema": false, "ema_decay": 0.9999, "ema_warmup": true, "mixup_alpha": 0.0, "dropout": null, "drop_path": null, "distill_weight": 0.8, "grad_clip": null, "batch_size": 32, "augment": true, "amp": true, "amp_dtype": "auto", "channels_last": null, "rmsprop_alpha": 0.9, "rmsprop_eps": 0.0316, "adamw_betas": [0.9, 0.999]}');
INSERT INTO "trial_user_attributes" VALUES(36,5,'key','"final/0"');
INSERT INTO "trial_user_attributes" VALUES(37,5,'phase','"final"');
INSERT INTO "trial_user_attributes" VALUES(38,5,'arch_json','"{\"l2m0_0_1\": \"none\", \"l2m0_0_2\": \"sepconv3x3\", \"l2m0_1_2\": \"identity\", \"l2m0_0_3\": \"dwconv3x3\", \"l2m0_1_3\": \"avgpool3x3\", \"l2m0_2_3\": \"avgpool3x3\", \"l2m1_0_1\": \"none\", \"l2m1_0_2\": \"maxpool3x3\", \"l2m1_1_2\": \"identity\", \"l2m1_0_3\": \"none\", \"l2m1_1_3\": \"maxpool3x3\", \"l2m1_2_3\": \"sepconv3x3\", \"l2m2_0_1\": \"identity\", \"l2m2_0_2\": \"dwconv3x3\", \"l2m2_1_2\": \"dwconv3x3\", \"l2m2_0_3\": \"conv1x1\", \"l2m2_1_3\": \"identity\", \"l2m2_2_3\": \"dwconv3x3\", \"l2m3_0_1\": \"avgpool3x3\", \"l2m3_0_2\": \"none\", \"l2m3_1_2\": \"identity\", \"l2m3_0_3\": \"none\", \"l2m3_1_3\": \"conv1x1\", \"l2m3_2_3\": \"avgpool3x3\", \"l2m4_0_1\": \"identity\", \"l2m4_0_2\": \"avgpool3x3\", \"l2m4_1_2\": \"identity\", \"l2m4_0_3\": \"none\", \"l2m4_1_3\": \"conv1x1\", \"l2m4_2_3\": \"maxpool3x3\", \"l2m5_0_1\": \"none\", \"l2m5_0_2\": \"identity\", \"l2m5_1_2\": \"identity\", \"l2m5_0_3\": \"avgpool3x3\", \"l2m5_1_3\": \"avgpool3x3\", \"l2m5_2_3\": \"none\", \"l3m0_0_1\": \"m5\", \"l3m0_0_2\": \"m1\", \"l3m0_1_2\": \"m5\", \"l3m0_0_3\": \"m1\", \"l3m0_1_3\": \"m2\", \"l3m0_2_3\": \"m0\", \"l3m0_0_4\": \"m3\", \"l3m0_1_4\": \"m0\", \"l3m0_2_4\": \"m4\", \"l3m0_3_4\": \"m2\"}"');
INSERT INTO "trial_user_attributes" VALUES(39,5,'seconds','4.345512306001183');
INSERT INTO "trial_user_attributes" VALUES(40,5,'cpu_seconds','1.2897156260000004');
INSERT INTO "trial_user_attributes" VALUES(41,5,'epochs','3');
CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	value FLOAT, 
	value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_value_id), 
	UNIQUE (trial_id, objective), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_values" VALUES(1,1,0,0.125,'FINITE');
INSERT INTO "trial_values" VALUES(2,1,1,87136.0,'FINITE');
INSERT INTO "trial_values" VALUES(3,1,2,14562.0,'FINITE');
INSERT INTO "trial_values" VALUES(4,2,0,0.078125,'FINITE');
INSERT INTO "trial_values" VALUES(5,2,1,33392.0,'FINITE');
INSERT INTO "trial_values" VALUES(6,2,2,5890.0,'FINITE');
INSERT INTO "trial_values" VALUES(7,3,0,0.078125,'FINITE');
INSERT INTO "trial_values" VALUES(8,3,1,33376.0,'FINITE');
INSERT INTO "trial_values" VALUES(9,3,2,6054.0,'FINITE');
INSERT INTO "trial_values" VALUES(10,4,0,0.125,'FINITE');
INSERT INTO "trial_values" VALUES(11,4,1,78992.0,'FINITE');
INSERT INTO "trial_values" VALUES(12,4,2,13366.0,'FINITE');
INSERT INTO "trial_values" VALUES(13,5,0,0.325,'FINITE');
INSERT INTO "trial_values" VALUES(14,5,1,78992.0,'FINITE');
INSERT INTO "trial_values" VALUES(15,5,2,13366.0,'FINITE');
CREATE TABLE trials (
	trial_id INTEGER NOT NULL, 
	number INTEGER, 
	study_id INTEGER, 
	state VARCHAR(8) NOT NULL, 
	datetime_start DATETIME, 
	datetime_complete DATETIME, 
	PRIMARY KEY (trial_id), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "trials" VALUES(1,0,1,'COMPLETE','2026-12-01 05:02:54.389516','2026-12-01 05:03:00.169553');
INSERT INTO "trials" VALUES(2,1,1,'COMPLETE','2026-12-01 05:03:00.268734','2026-12-01 05:03:00.569765');
INSERT INTO "trials" VALUES(3,2,1,'COMPLETE','2026-12-01 05:03:00.631558','2026-12-01 05:03:00.950731');
INSERT INTO "trials" VALUES(4,3,1,'COMPLETE','2026-12-01 05:03:01.039532','2026-12-01 05:03:01.379107');
INSERT INTO "trials" VALUES(5,0,2,'COMPLETE','2026-12-01 05:03:06.035600','2026-12-01 05:03:06.268579');
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL, 
	schema_version INTEGER, 
	library_version VARCHAR(256), 
	PRIMARY KEY (version_info_id), 
	CHECK (version_info_id=1)
);
INSERT INTO "version_info" VALUES(1,12,'5.0.0');
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE INDEX ix_trials_study_id ON trials (study_id);
COMMIT;

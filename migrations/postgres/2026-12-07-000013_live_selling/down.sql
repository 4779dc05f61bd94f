DROP TABLE live_selling_people;
DROP TABLE live_selling_items;
DROP TABLE live_selling;
DROP TABLE capabilities;
